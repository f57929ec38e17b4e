"""Live sync in Chromium: a change reaches every open tab, in every browser and server process.

The changes are made the way members make them, through the profile page's upload, restore and
delete forms (POST /profile/picture and friends).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Request, expect

from tests.e2e.conftest import ConsoleErrors, Member, Server, two_servers
from tests.e2e.pages import card, expect_live, expect_picture, header_avatar, log_in, signed_in
from tests.e2e.pages import upload_version as upload
from web.live.channel import RETRY_MS

pytestmark = pytest.mark.e2e

# htmx's SSE extension (static/vendor/hx-sse-4.0.1): after RETRY_MS, each failed reconnect
# doubles the wait, at most 60 s, each wait shifted by up to 30% either way.
RECONNECT_MAX_S, RECONNECT_JITTER = 60.0, 0.3
SLACK_S = 10.0  # the replay and the swap on a loaded machine
STREAM = r"/events(\?|$)"  # the stream's URL (it names its members), not /events/sync


def next_reconnect_within(down_for: float) -> float:
    """Seconds until a tab down for `down_for` seconds tries again, at the latest: its next
    wait is at most twice the waits so far plus the first, jitter included, capped."""
    first = RETRY_MS / 1000
    longest = (1 + RECONNECT_JITTER) / (1 - RECONNECT_JITTER) * (down_for + first)
    return min(longest, RECONNECT_MAX_S * (1 + RECONNECT_JITTER))


def expect_initials(avatar: Locator, version: int) -> None:
    expect(avatar).to_have_attribute("data-avatar-version", str(version))
    expect(avatar.locator("svg")).to_be_visible()


class Traffic:
    """Requests a browser context makes, by path."""

    def __init__(self, context: BrowserContext) -> None:
        self.requests: list[Request] = []
        context.on("request", self.keep)

    def keep(self, request: Request) -> None:
        self.requests.append(request)

    def to(self, pattern: str) -> list[Request]:
        return [r for r in self.requests if re.search(pattern, r.url)]


@pytest.fixture
def carol(server: Server) -> Member:
    """A third member in the directory, who does nothing."""
    return server.new_member("carol", "C D")


def test_upload_reaches_every_avatar_of_the_member_in_every_tab_and_browser(
    server: Server,
    browser: Browser,
    alice: Member,
    bob: Member,
    carol: Member,
    console_errors: ConsoleErrors,
) -> None:
    profile = signed_in(browser, server, alice.handle, console_errors)
    directory = profile.context.new_page()
    console_errors.watch(directory).goto(f"{server.url}/members")
    bobs = signed_in(browser, server, bob.handle, console_errors, "/members")
    watched = (directory, bobs)
    traffic = [Traffic(page.context) for page in watched]
    for page in watched:
        expect_live(page)
        page.evaluate("window.notReloaded = true")
        page.evaluate(
            "window.updates = [];"
            "document.addEventListener('profilePictureUpdated', e => updates.push(e.detail))"
        )

    upload(profile, "red", 1)

    expect_picture(header_avatar(directory), 1, 24)
    expect_picture(card(directory, alice.id), 1, 96)
    expect_picture(card(bobs, alice.id), 1, 96)
    for page, seen in zip(watched, traffic, strict=True):
        assert page.evaluate("window.notReloaded") is True
        assert page.evaluate("window.updates") == [{"userId": alice.id, "version": 1}]
        refetched = {re.sub(r"[?&]v=\d+", "", r.url) for r in seen.to("/components/avatar/")}
        assert all(f"/components/avatar/{alice.id}?" in url for url in refetched), refetched
    expect_initials(header_avatar(bobs), 0)  # bob's own avatar did not move
    expect_initials(card(bobs, bob.id), 0)
    assert console_errors == []


def test_restore_and_delete_reach_another_members_tab(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    profile = signed_in(browser, server, alice.handle, console_errors)
    upload(profile, "red", 1)
    upload(profile, "green", 2)
    bobs = signed_in(browser, server, bob.handle, console_errors, "/members")
    expect_live(bobs)
    expect_picture(card(bobs, alice.id), 2, 96)

    profile.get_by_role("button", name="Use this picture (version 1)").click()
    expect_picture(card(bobs, alice.id), 3, 96)
    profile.get_by_role("button", name="Delete version 1").click()
    expect_picture(card(bobs, alice.id), 4, 96)  # version 2 is current again
    profile.get_by_role("button", name="Delete version 2").click()
    expect_initials(card(bobs, alice.id), 5)
    assert console_errors == []


def test_upload_made_with_javascript_off_reaches_other_tabs(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    bobs = signed_in(browser, server, bob.handle, console_errors, "/members")
    expect_live(bobs)
    no_js = signed_in(browser, server, alice.handle, java_script_enabled=False)
    upload(no_js, "blue", 1)
    expect(no_js).to_have_url(f"{server.url}/profile")
    expect_picture(card(bobs, alice.id), 1, 96)
    assert console_errors == []


def test_ten_tabs_share_one_stream_and_all_follow_a_change(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    bobs = signed_in(browser, server, bob.handle, console_errors, "/members")
    context = bobs.context
    expect_live(bobs)
    traffic = Traffic(context)  # from here on, no tab may open another stream
    tabs = [bobs]
    for _ in range(9):
        tab = console_errors.watch(context.new_page())
        tab.goto(f"{server.url}/members")  # with a stream per tab the seventh would hang
        tabs.append(tab)
    for tab in tabs:
        expect_live(tab)

    upload(signed_in(browser, server, alice.handle, console_errors), "red", 1)

    for tab in tabs:
        expect_picture(card(tab, alice.id), 1, 96)
    assert traffic.to(STREAM) == []
    # Each tab asks for the card's new version (lazy=true only past the eager first row); the
    # browser's cache answers most of them.
    assert len(traffic.to(rf"/components/avatar/{alice.id}\?size=md(&lazy=true)?&v=1")) == 10
    served = server.log_lines(f'"path":"/components/avatar/{alice.id}"')
    assert len(served) < 10, served
    tabs[-1].goto(f"{server.url}/members/{alice.handle}")  # pages still load
    expect_picture(tabs[-1].locator("main [data-user-id]"), 1, 192)
    assert console_errors == []


def test_when_the_leader_tab_closes_another_tab_takes_the_stream(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    first = signed_in(browser, server, bob.handle, console_errors, "/members")
    second = console_errors.watch(first.context.new_page())
    second.goto(f"{server.url}/members")
    expect(first.locator("[data-live-sync]")).to_have_attribute("data-role", "leader")
    expect(second.locator("[data-live-sync]")).to_have_attribute("data-role", "follower")
    first.close()
    expect(second.locator("[data-live-sync]")).to_have_attribute("data-role", "leader")
    expect_live(second)
    upload(signed_in(browser, server, alice.handle, console_errors), "red", 1)
    expect_picture(card(second, alice.id), 1, 96)


def test_tab_cut_off_by_a_restart_replays_the_change_it_missed(
    server_factory: Callable[..., Server], browser: Browser, console_errors: ConsoleErrors
) -> None:
    server = server_factory()  # its own: restarted under the tab
    alice = server.new_member("alice", "Alice Liddell")
    bob = server.new_member("bob", "Bob Marley")
    bobs = signed_in(browser, server, bob.handle, console_errors, "/members")
    expect_live(bobs)
    traffic = Traffic(bobs.context)
    # Bob's tab may not reconnect until alice's change is made: it can only learn it by replay.
    bobs.route(re.compile(STREAM), lambda route: route.abort())
    down_since = time.monotonic()
    server.restart()
    expect(bobs.locator("[data-live-sync]")).to_have_attribute("data-state", "down")
    upload(signed_in(browser, server, alice.handle, console_errors), "red", 1)
    bobs.unroute(re.compile(STREAM))

    # The tab's backoff grew while the restart took (50 s at load 10): wait for its next try.
    due = next_reconnect_within(time.monotonic() - down_since) + SLACK_S
    expect_picture(card(bobs, alice.id), 1, 96, timeout_ms=due * 1000)
    reconnect = traffic.to(STREAM)[-1]
    assert reconnect.headers.get("last-event-id", "").isdigit()
    assert traffic.to(r"/events/sync") == []  # not the fallback sync: the replay
    # Each reconnect attempt refused while the server was away is logged (by Chromium and htmx).
    expected = ("htmx:sse:error", "net::ERR_FAILED", "net::ERR_CONNECTION_REFUSED")
    assert [e for e in console_errors if not any(text in e for text in expected)] == []


def test_debug_flag_logs_the_stream_to_the_console(
    server: Server, browser: Browser, bob: Member
) -> None:
    context = browser.new_context()
    context.add_init_script("localStorage.setItem('profilePictureDebug', 'true')")
    page = context.new_page()
    log_in(page, server, bob.handle)
    with page.expect_console_message(lambda m: "sync-ready" in m.text) as message:
        page.goto(f"{server.url}/members")
    assert message.value.text.startswith("[profile-picture-sync] stream sync-ready id ")


@pytest.mark.postgres
@pytest.mark.redis
def test_change_on_one_process_reaches_a_tab_on_another(
    tmp_path: Path, browser: Browser, shared_services: dict[str, str], console_errors: ConsoleErrors
) -> None:
    with two_servers(tmp_path, shared_services) as (first, second):
        alice = first.add_member("alice", "Alice Liddell")
        first.add_member("bob", "Bob Marley")
        bobs = signed_in(browser, second, "bob", console_errors, "/members")
        expect_live(bobs)
        upload(signed_in(browser, first, "alice", console_errors), "red", 1)
        expect_picture(card(bobs, alice), 1, 96)
        assert console_errors == []
