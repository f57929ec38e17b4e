"""A visitor signs up, sees their initials in the header, and the directory shows everyone."""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import Browser, expect
from sqlmodel import func, select

from db.models import User
from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import log_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

_doras = itertools.count(1)


def new_handle() -> str:
    """A handle no member has yet, for a sign-up."""
    return f"dora-{next(_doras)}"


def members_in_database(server: Server) -> int:
    with server.session() as db:
        return db.exec(select(func.count()).select_from(User)).one()


def test_signup_then_directory_then_another_member_sees_the_card(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    dora = new_handle()
    visitor = console_errors.watch(browser.new_context().new_page())
    visitor.goto(f"{server.url}/signup")
    visitor.get_by_label("Handle").fill(dora)
    visitor.get_by_label("Display name").fill("Dora Maar")
    visitor.get_by_label("Password").fill(PASSWORD)
    visitor.get_by_role("button", name="Sign up").click()

    visitor.wait_for_url(f"{server.url}/profile")
    # The avatar is decoration beside the name: the link says whose profile it is.
    expect(visitor.get_by_role("link", name="Your profile: Dora Maar")).to_be_visible()
    header_avatar = visitor.get_by_role("banner").locator("[data-avatar-size=xs]")
    expect(header_avatar).to_be_visible()
    expect(header_avatar).to_have_text("DM")

    visitor.get_by_role("link", name="Members", exact=True).click()
    cards = visitor.get_by_role("list", name="Members").get_by_role("listitem")
    # Everyone: the module's other tests' members too (this test's three among them).
    expect(cards).to_have_count(members_in_database(server))
    # A card's link reads the name once, then the handle; its avatar is decoration.
    alice_card = visitor.get_by_role("link", name=f"Alice Liddell @{alice.handle}", exact=True)
    expect(alice_card.locator("[data-avatar-size=md]")).to_be_visible()
    bob_card = visitor.get_by_role("link", name=f"Bob Marley @{bob.handle}", exact=True)
    expect(bob_card.locator("[data-avatar-size=md]")).to_be_visible()

    bobs = console_errors.watch(browser.new_context().new_page())
    log_in(bobs, server, bob.handle)
    bobs.goto(f"{server.url}/members")
    dora_card = bobs.get_by_role("listitem").filter(has_text=f"@{dora}")
    expect(dora_card.get_by_role("link", name=f"Dora Maar @{dora}", exact=True)).to_be_visible()
    expect(dora_card.locator("[data-avatar-size=md]")).to_be_visible()
    assert console_errors == []


def test_signup_error_works_with_javascript_off(
    server: Server, browser: Browser, alice: Member
) -> None:
    dora = new_handle()
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(f"{server.url}/signup")
    page.get_by_label("Handle").fill(alice.handle)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(f"The handle '{alice.handle}' is taken; pick another.")).to_be_visible()
    expect(page.get_by_text("A password needs at least 10 characters.")).to_be_visible()
    page.get_by_label("Handle").fill(dora)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(f"{server.url}/profile")
    me = page.get_by_role("banner").get_by_role("link", name=f"Your profile: {dora}")
    expect(me).to_be_visible()
