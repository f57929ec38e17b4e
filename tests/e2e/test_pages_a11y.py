"""Every page, as a visitor and as a member, on a desktop and on a 390x844 phone: axe-core finds
no serious or critical violation (WCAG 2.0-2.2 A/AA), no page logs a console error, every tap
target on the phone is 44x44 CSS px (tests/e2e/targets.py says the rule), the header is as tall
signed in as signed out, and the landing page says what the product is and offers a way in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.a11y import WCAG22, serious_violations
from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import api, api_upload, log_in
from tests.e2e.targets import small_targets, target_count

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VISITOR_PAGES = ["/", "/login", "/signup", "/members", "/schema/reference"]
NOT_FOUND = "/members/no-such-member"  # an error page (404)


def member_pages(member: Member) -> list[str]:
    return [
        "/profile",
        "/profile/tokens",
        "/profile/picture/1/crop",
        "/members",
        f"/members/{member.handle}",
        "/schema/reference",
    ]


@pytest.fixture(scope="module")
def member(server: Server) -> Member:
    """The member whose pages the tests look at (and change nothing): two pictures, a token."""
    made = server.new_member("alice", "Alice Liddell")
    with api(server, server.token(made.id, "CRM sync")) as client:
        for colour in ("red", "blue"):
            api_upload(client, made.id, colour)
    return made


@pytest.fixture(scope="module")
def member_state(server: Server, chromium: Browser, member: Member) -> dict[str, Any]:
    context = chromium.new_context()
    log_in(context.new_page(), server, member.handle)
    state: dict[str, Any] = context.storage_state()
    context.close()
    return state


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Any]:
    """`open_page(viewport, state=None)`: a new page in a context of its own, closed after."""
    contexts: list[BrowserContext] = []

    def make(viewport: dict[str, int], state: dict[str, Any] | None = None) -> Page:
        contexts.append(browser.new_context(viewport=viewport, storage_state=state))
        return contexts[-1].new_page()

    yield make
    for context in contexts:
        context.close()


def visit(page: Page, server: Server, path: str) -> None:
    """Open `path` and wait for what scripts draw: the API reference's operations."""
    page.goto(server.url + path)
    if path.startswith("/schema/reference"):
        expect(page.locator(".opblock").first).to_be_visible()


def stale_form_page(page: Page, server: Server) -> None:
    """The 403 page of a form whose CSRF token expired (web/errors.py's forbidden.html)."""
    page.goto(f"{server.url}/profile")
    page.context.clear_cookies(name="csrftoken")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="This form had expired")).to_be_visible()


def open_the_reference(page: Page, server: Server) -> None:
    """The reference with what Swagger UI draws on demand: an operation open to try out (its
    parameter, body and examples) and the Authorize dialog."""
    visit(page, server, "/schema/reference")
    page.get_by_text("/api/profile/update-picture").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Authorize").first.click()
    expect(page.get_by_role("dialog")).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_serious_or_critical_violation_on_any_page(
    server: Server,
    member: Member,
    member_state: dict[str, Any],
    open_page: Any,
    viewport: dict[str, int],
) -> None:
    found: dict[str, list[str]] = {}
    visitor, signed_in = open_page(viewport), open_page(viewport, member_state)
    for page, path in [
        *((visitor, path) for path in [*VISITOR_PAGES, NOT_FOUND]),
        *((signed_in, path) for path in member_pages(member)),
    ]:
        visit(page, server, path)
        found[path] = serious_violations(page, WCAG22)
    open_the_reference(visitor, server)
    found["/schema/reference, opened"] = serious_violations(visitor, WCAG22)
    stale_form_page(signed_in, server)
    found["403"] = serious_violations(signed_in, WCAG22)
    assert {path: bad for path, bad in found.items() if bad} == {}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_page_logs_a_console_error(
    server: Server,
    member: Member,
    member_state: dict[str, Any],
    open_page: Any,
    viewport: dict[str, int],
    console_errors: ConsoleErrors,
) -> None:
    visitor = console_errors.watch(open_page(viewport))
    signed_in = console_errors.watch(open_page(viewport, member_state))
    for path in VISITOR_PAGES:
        visit(visitor, server, path)
    for path in member_pages(member):
        visit(signed_in, server, path)
    assert console_errors == []


def test_every_tap_target_on_a_phone_is_44_px(
    server: Server, member: Member, member_state: dict[str, Any], open_page: Any
) -> None:
    found: dict[str, list[str]] = {}
    visitor, signed_in = open_page(PHONE), open_page(PHONE, member_state)
    for page, path in [
        *((visitor, path) for path in [*VISITOR_PAGES, NOT_FOUND]),
        *((signed_in, path) for path in member_pages(member)),
    ]:
        visit(page, server, path)
        assert target_count(page) > 3, path
        found[path] = small_targets(page)
    signed_in.get_by_text("/api/profile/sync-picture").click()  # an operation opened
    signed_in.get_by_role("button", name="Try it out").click()
    found["/schema/reference, an operation open"] = small_targets(signed_in)
    assert {path: small for path, small in found.items() if small} == {}


@pytest.mark.parametrize(
    "viewport", [DESKTOP, PHONE, {"width": 320, "height": 640}], ids=["1280", "390", "320"]
)
def test_the_header_is_as_tall_signed_in_as_signed_out(
    server: Server, member_state: dict[str, Any], open_page: Any, viewport: dict[str, int]
) -> None:
    heights = set()
    for page in (open_page(viewport), open_page(viewport, member_state)):
        for path in ("/members", "/login", "/schema/reference", NOT_FOUND):
            page.goto(server.url + path)
            box = page.get_by_role("banner").bounding_box()
            assert box is not None
            heights.add(round(box["height"]))
    assert len(heights) == 1, heights
    assert heights.pop() <= 60  # one row


def test_the_landing_page_says_what_this_is_and_offers_a_way_in(
    server: Server, open_page: Any
) -> None:
    page = open_page(PHONE)
    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/")
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text("Profile Picture Sync")
    expect(main).to_contain_text("keeps your profile picture on this member site")
    main.get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    page.go_back()
    main.get_by_role("link", name="Log in").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_member_lands_on_their_profile(
    server: Server, member_state: dict[str, Any], open_page: Any
) -> None:
    page = open_page(DESKTOP, member_state)
    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/profile")
