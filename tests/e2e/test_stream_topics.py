"""Issue 25, "streams carry what is on screen", in Chromium: a browser's stream follows the
members its tabs show (and the viewer), so a change of a member on screen reaches the page and a
change of a member off screen sends the browser nothing.

Frames are counted in the page: an init script records every message the SSE extension reads
from the stream (`htmx:sse:before:message`, dispatched for each frame with an event or data).
An absence is shown without waiting on a clock: events reach a stream in id order, so once a
later change of a member on screen has arrived, an earlier one the stream carried would have
arrived before it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.e2e.conftest import ConsoleErrors, Member, Server, running, two_servers
from tests.e2e.pages import api, api_upload, card, expect_live, expect_picture, signed_in
from tests.e2e.pages import upload_version as upload
from tests.e2e.test_directory_pages import MEMBERS, page_ids, second_page_path
from tests.html import parse
from web.services.accounts import demo

pytestmark = pytest.mark.e2e

RECORD_FRAMES = """
window.sseFrames = [];
document.addEventListener("htmx:sse:before:message",
  (e) => window.sseFrames.push(e.detail.message), true);
"""


def frames(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate("window.sseFrames")
    return found


def avatar_events(page: Page) -> list[str]:
    return [f["event"] for f in frames(page) if f["event"].startswith("avatar-")]


def watching(browser: Browser, server: Server, member: Member, path: str) -> Page:
    """`member` signed in, in a context of their own whose pages record their stream's frames."""
    page = signed_in(browser, server, member.handle, path=path)
    page.context.add_init_script(RECORD_FRAMES)
    page.reload()
    expect_live(page)
    return page


def subscribing_to(member: Member) -> Any:
    """A predicate for the request that asks the stream to follow `member`."""

    def asks(request: Request) -> bool:
        if not request.url.endswith("/events/subscriptions"):
            return False
        members: list[int] = json.loads(request.post_data or "{}").get("members", [])
        return member.id in members

    return asks


def test_an_upload_by_a_member_on_screen_reaches_the_card(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    bobs = watching(browser, server, bob, "/members")
    console_errors.watch(bobs)
    upload(signed_in(browser, server, alice.handle, console_errors), "red", 1)
    expect_picture(card(bobs, alice.id), 1, 96)
    assert f"avatar-{alice.id}" in avatar_events(bobs)
    assert console_errors == []


def test_an_upload_by_a_member_off_screen_sends_the_browser_nothing(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    carol = server.new_member("carol", "Carol Ann")
    bobs = watching(browser, server, bob, f"/members/{carol.handle}")  # alice is not on it
    console_errors.watch(bobs)
    upload(signed_in(browser, server, alice.handle, console_errors), "red", 1)
    upload(signed_in(browser, server, carol.handle, console_errors), "blue", 1)
    expect_picture(
        bobs.locator("main [data-user-id]"), 1, 192
    )  # carol's arrived: alice's would have
    assert avatar_events(bobs) == [f"avatar-{carol.id}"]
    stream = bobs.locator("[data-live-sync]")
    expect(stream).to_have_attribute("data-role", "leader")
    assert console_errors == []


def test_the_viewer_is_always_followed(
    server: Server, browser: Browser, bob: Member, console_errors: ConsoleErrors
) -> None:
    carol = server.new_member("carol", "Carol Ann")
    bobs = watching(browser, server, bob, f"/members/{carol.handle}")
    upload(signed_in(browser, server, bob.handle, console_errors), "green", 1)
    expect_picture(bobs.get_by_role("banner").locator("[data-user-id]"), 1, 24)
    assert avatar_events(bobs) == [f"avatar-{bob.id}"]


def test_a_tab_that_navigates_to_a_member_page_subscribes_to_that_member(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    carol = server.new_member("carol", "Carol Ann")
    leader = watching(browser, server, bob, f"/members/{carol.handle}")
    follower = console_errors.watch(leader.context.new_page())
    follower.goto(f"{server.url}/members/{carol.handle}")
    expect(follower.locator("[data-live-sync]")).to_have_attribute("data-role", "follower")
    with leader.expect_request(subscribing_to(alice)):  # the leader asks; its stream carries
        follower.goto(f"{server.url}/members/{alice.handle}")
    expect_live(follower)
    upload(signed_in(browser, server, alice.handle, console_errors), "red", 1)
    expect_picture(follower.locator("main [data-user-id]"), 1, 192)
    assert f"avatar-{alice.id}" in avatar_events(leader)  # through the leader's one stream
    assert console_errors == []


def test_cards_htmx_swaps_in_are_followed(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    carol = server.new_member("carol", "Carol Ann")
    bobs = watching(browser, server, bob, f"/members/{carol.handle}")
    console_errors.watch(bobs)
    # As the directory pages in more cards: an htmx swap adds alice's avatar to the page.
    with bobs.expect_request(subscribing_to(alice)):
        bobs.evaluate(
            "(url) => htmx.ajax('GET', url, {target: 'main', swap: 'beforeend'})",
            f"/components/avatar/{alice.id}?size=sm",
        )
    swapped = bobs.locator(f"main [data-user-id='{alice.id}']")
    expect(swapped).to_have_count(1)
    upload(signed_in(browser, server, alice.handle, console_errors), "red", 1)
    expect_picture(swapped, 1, 40)
    assert console_errors == []


def test_the_stream_names_its_members_in_its_url(
    server: Server, browser: Browser, alice: Member, bob: Member
) -> None:
    bobs = watching(browser, server, bob, f"/members/{alice.handle}")
    streams: list[str] = []
    bobs.context.on("request", lambda r: streams.append(r.url) if "/events?" in r.url else None)
    bobs.reload()
    expect_live(bobs)
    [url] = streams
    members = re.search(r"members=([0-9%C,]*)", url)
    assert members is not None
    assert {int(m) for m in members[1].replace("%2C", ",").split(",")} == {alice.id, bob.id}


def test_a_refused_subscription_brings_the_stream_back_with_the_set(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    carol = server.new_member("carol", "Carol Ann")
    bobs = watching(browser, server, bob, f"/members/{carol.handle}")
    console_errors.watch(bobs)
    # As a POST that reached a process without the stream and without Redis: 404.
    bobs.route("**/events/subscriptions", lambda route: route.fulfill(status=404))
    with bobs.expect_request(lambda r: "/events?" in r.url and str(alice.id) in _url_members(r)):
        bobs.evaluate(
            "(url) => htmx.ajax('GET', url, {target: 'main', swap: 'beforeend'})",
            f"/components/avatar/{alice.id}?size=sm",
        )
    expect_live(bobs)
    upload(signed_in(browser, server, alice.handle, console_errors), "red", 1)
    expect_picture(bobs.locator(f"main [data-user-id='{alice.id}']"), 1, 40)
    assert [e for e in console_errors if "404" not in e] == []


def _url_members(request: Request) -> list[str]:
    found = re.search(r"members=([0-9%C,]*)", request.url)
    return found[1].replace("%2C", ",").split(",") if found else []


@pytest.mark.postgres
@pytest.mark.redis
def test_a_subscription_posted_to_another_process_reaches_the_stream_through_redis(
    tmp_path: Path, browser: Browser, shared_services: dict[str, str], console_errors: ConsoleErrors
) -> None:
    """As behind a proxy that spreads requests over processes: the stream is held by the first,
    every POST /events/subscriptions is answered by the second (202), which tells the first."""
    with two_servers(tmp_path, shared_services) as (first, second):
        alice = first.new_member("alice", "Alice Liddell")
        bob = first.new_member("bob", "Bob Marley")
        carol = first.new_member("carol", "Carol Ann")
        bobs = watching(browser, first, bob, f"/members/{carol.handle}")
        console_errors.watch(bobs)
        answers: list[int] = []

        def to_the_second(route: Route) -> None:
            response = route.fetch(url=f"{second.url}/events/subscriptions")
            answers.append(response.status)
            route.fulfill(response=response)

        bobs.route("**/events/subscriptions", to_the_second)
        bobs.evaluate(
            "(url) => htmx.ajax('GET', url, {target: 'main', swap: 'beforeend'})",
            f"/components/avatar/{alice.id}?size=sm",
        )
        expect(bobs.locator(f"main [data-user-id='{alice.id}']")).to_have_count(1)
        upload(signed_in(browser, first, alice.handle, console_errors), "red", 1)
        expect_picture(bobs.locator(f"main [data-user-id='{alice.id}']"), 1, 40)
        assert answers and set(answers) == {202}  # never refused: no reconnect carried the set
        assert [f["event"] for f in frames(bobs) if f["event"] == "subscribed"]
        assert console_errors == []


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own with 2,000 generated members, as the directory's tests have."""
    with running(tmp_path_factory.mktemp("directory")) as started:
        with started.session() as db:
            demo.add_members(db, MEMBERS, "no password")
        yield started


def test_in_a_directory_of_2000_a_card_scrolled_in_is_followed_and_one_off_screen_is_not(
    directory: Server, browser: Browser, console_errors: ConsoleErrors
) -> None:
    second = page_ids(directory, second_page_path(directory))
    scrolled_in, far = second[0], _on_the_third_page(directory)
    context = browser.new_context()
    context.add_init_script(RECORD_FRAMES)
    page = console_errors.watch(context.new_page())
    page.goto(f"{directory.url}/members")
    expect_live(page)
    with page.expect_request(subscribing_to(Member(scrolled_in, "", ""))):
        page.get_by_role("link", name="More members").scroll_into_view_if_needed()
    with api(directory, directory.token(far)) as client:
        api_upload(client, far, "red")
    with api(directory, directory.token(scrolled_in)) as client:
        api_upload(client, scrolled_in, "blue")
    expect_picture(card(page, scrolled_in), 1, 96)
    assert avatar_events(page) == [f"avatar-{scrolled_in}"]  # nothing of the far member's
    assert console_errors == []


def _on_the_third_page(server: Server) -> int:
    """A member of the directory's third page: not on screen after one scroll."""
    second = parse(httpx.get(f"{server.url}{second_page_path(server)}", timeout=30).text)
    link = second.select_one("a[rel=next]")
    assert link is not None
    return page_ids(server, str(link["href"]))[0]
