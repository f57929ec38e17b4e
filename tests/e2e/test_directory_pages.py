"""The directory with 2,000 members in Chromium: the first page, the next by scrolling (htmx)
and by the rel=next link (no JavaScript), the search live and as a plain form, and cards that
stay live: an upload reaches a card of the first page, and one loaded by scrolling."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.e2e.conftest import ConsoleErrors, Server
from tests.e2e.pages import api, api_upload, card, expect_live, expect_picture
from tests.html import parse
from web.services.accounts import demo
from web.services.accounts.directory import PAGE_SIZE

pytestmark = pytest.mark.e2e

MEMBERS = 2_000


@pytest.fixture(scope="module")
def server(server: Server) -> Server:
    """The module's server with 2,000 generated members (no password opens them)."""
    with server.session() as db:
        demo.add_members(db, MEMBERS, "no password")
    return server


def page_ids(server: Server, path: str) -> list[int]:
    """The member ids of a directory page's cards, as the server sends them."""
    html = parse(httpx.get(f"{server.url}{path}", timeout=30).text)
    return [int(a["data-user-id"]) for a in html.select("#member-list > li [data-user-id]")]


def second_page_path(server: Server) -> str:
    html = parse(httpx.get(f"{server.url}/members", timeout=30).text)
    href = html.select_one("a[rel=next]")
    assert href is not None
    return str(href["href"])


def card_ids(page: Page) -> list[int]:
    avatars = page.get_by_role("list", name="Members").locator("[data-user-id]")
    return [int(x) for x in avatars.evaluate_all("els => els.map(e => e.dataset.userId)")]


def live_directory(server: Server, browser: Browser, console_errors: ConsoleErrors) -> Page:
    """/members in a new browser context, watched for console errors, its live stream up."""
    page = console_errors.watch(browser.new_context().new_page())
    page.goto(f"{server.url}/members")
    expect_live(page)
    return page


def upload_reaches_card(server: Server, page: Page, user_id: int, colour: str) -> None:
    """The member uploads a picture through the API: their card on `page` shows it live."""
    with api(server, server.token(user_id)) as client:
        api_upload(client, user_id, colour)
    expect_picture(card(page, user_id), 1, 96)


def test_the_first_page_shows_and_scrolling_loads_the_next(
    server: Server, browser: Browser, console_errors: ConsoleErrors
) -> None:
    page = console_errors.watch(browser.new_context().new_page())
    page.goto(f"{server.url}/members")
    listed = page.get_by_role("list", name="Members").get_by_role("listitem")
    expect(listed).to_have_count(PAGE_SIZE)
    assert card_ids(page) == page_ids(server, "/members")
    page.get_by_role("link", name="More members").scroll_into_view_if_needed()
    expect(listed).to_have_count(2 * PAGE_SIZE)
    expect(page).to_have_url(f"{server.url}/members")  # scrolling is not navigating
    second = page_ids(server, second_page_path(server))
    assert card_ids(page) == page_ids(server, "/members") + second
    page.get_by_role("link", name="More members").scroll_into_view_if_needed()
    expect(listed).to_have_count(3 * PAGE_SIZE)
    assert len(set(card_ids(page))) == 3 * PAGE_SIZE
    assert console_errors == []


def test_without_javascript_the_next_link_leads_to_the_next_page(
    server: Server, browser: Browser
) -> None:
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(f"{server.url}/members")
    listed = page.get_by_role("list", name="Members").get_by_role("listitem")
    expect(listed).to_have_count(PAGE_SIZE)
    first = card_ids(page)
    page.get_by_role("link", name="More members").click()
    expect(page).to_have_url(re.compile(r"/members\?after="))
    expect(listed).to_have_count(PAGE_SIZE)
    assert card_ids(page) == page_ids(server, second_page_path(server))
    assert set(card_ids(page)).isdisjoint(first)


@pytest.mark.parametrize(
    ("javascript", "surname", "part"), [(True, "Fitzgerald", "FITZGER"), (False, "Fitzroy", "tzro")]
)
def test_search_finds_a_member_by_part_of_the_name(
    server: Server,
    browser: Browser,
    console_errors: ConsoleErrors,
    javascript: bool,
    surname: str,
    part: str,
) -> None:
    zelda = server.new_member("zelda", f"Zelda {surname}")
    page = browser.new_context(java_script_enabled=javascript).new_page()
    console_errors.watch(page).goto(f"{server.url}/members")
    page.get_by_label("Search members").fill(part)
    if not javascript:  # without JavaScript the form is sent; with it, typing is enough
        page.get_by_role("button", name="Search").click()
    listed = page.get_by_role("list", name="Members").get_by_role("listitem")
    expect(listed).to_have_count(1)
    expect(listed.get_by_role("link", name=f"Zelda {surname} @{zelda.handle}")).to_be_visible()
    status = f"Members whose name or handle contains “{part}”."
    expect(page.get_by_role("status")).to_have_text(status)
    expect(page).to_have_url(f"{server.url}/members?q={part}")  # a link to share, and Back
    assert console_errors == []


def test_an_upload_by_a_member_on_the_first_page_reaches_their_card(
    server: Server, browser: Browser, console_errors: ConsoleErrors
) -> None:
    first = page_ids(server, "/members")[0]
    page = live_directory(server, browser, console_errors)
    upload_reaches_card(server, page, first, "red")
    assert console_errors == []


def test_a_card_loaded_by_scrolling_is_live_too(
    server: Server, browser: Browser, console_errors: ConsoleErrors
) -> None:
    on_second_page = page_ids(server, second_page_path(server))[0]
    page = live_directory(server, browser, console_errors)
    page.get_by_role("link", name="More members").scroll_into_view_if_needed()
    expect(card(page, on_second_page)).to_be_visible()
    upload_reaches_card(server, page, on_second_page, "blue")
    assert console_errors == []


def test_a_search_overtakes_a_page_still_loading(
    server: Server, browser: Browser, console_errors: ConsoleErrors
) -> None:
    """The next page of the whole directory, still loading when a search is typed, is given up:
    its cards and link never land in the search's list."""
    server.new_member("quincy", "Quincy Quartermain")
    page = console_errors.watch(browser.new_context().new_page())
    held: list[Route] = []
    page.route(re.compile(r"/members\?after="), lambda route: held.append(route))  # unanswered
    page.goto(f"{server.url}/members")
    with page.expect_request(re.compile(r"/members\?after=")):
        page.get_by_role("link", name="More members").scroll_into_view_if_needed()
    # Aborted by the search (hx-sync). Other requests may fail meanwhile: the avatars' catch-up
    # (/events/sync), given up when the search's list replaces the cards it asked about.
    with page.expect_event("requestfailed", lambda request: "after=" in request.url):
        page.get_by_label("Search members").fill("quartermain")
    listed = page.get_by_role("list", name="Members").get_by_role("listitem")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("Quincy Quartermain")
    expect(page.locator("a[rel=next]")).to_have_count(0)
    assert console_errors == []
