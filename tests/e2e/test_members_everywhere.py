"""Issue 11: every member path on a phone, without JavaScript and with assistive technology.

Real Chromium, real server: pages fit phone widths (no sideways scroll, no overlapping controls),
refusal pages work without JavaScript, deleted pictures come back after a reload, focus follows
in-place swaps, and axe-core finds no serious or critical WCAG 2.1 A/AA violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.a11y import serious_violations
from tests.e2e.conftest import Member, Server
from tests.e2e.pages import api, log_in, picture, signed_in, upload

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONES = [
    {"width": 320, "height": 640},
    {"width": 390, "height": 844},
    {"width": 430, "height": 932},
]
# Everything a member can press or type into.
CONTROLS = "a:visible, button:visible, input:visible:not([type=hidden]), label.file-button:visible"


def message(page: Page, text: str) -> Any:
    return page.get_by_role("status").filter(has_text=text)


def state_of(server: Server, browser: Browser, member: Member) -> dict[str, Any]:
    """The member signed in, with versions 1 and 3 kept and version 2 deleted; the context's
    storage state, for pages opened at other sizes or without JavaScript."""
    page = signed_in(browser, server, member.handle, viewport=DESKTOP)
    long_name = "photo_from_a_phone_with_a_very_long_file_name_IMG_20261129_235800.jpg"
    for version, colour in enumerate(("red", "yellow", "blue"), 1):
        upload(page, picture(colour, (900, 1350), long_name))
        expect(message(page, f"Version {version} uploaded.")).to_be_visible()
    page.get_by_role("button", name="Delete version 2").click()
    expect(message(page, "Version 2 deleted.")).to_be_visible()
    state: dict[str, Any] = page.context.storage_state()
    page.context.close()
    return state


@pytest.fixture(scope="module")
def member(server: Server) -> Member:
    """The member whose pages the tests that only look share (`member_state`)."""
    return server.new_member("alice", "Alice Liddell")


@pytest.fixture(scope="module")
def member_state(server: Server, chromium: Browser, member: Member) -> dict[str, Any]:
    """`state_of` the shared member: for tests that look and change nothing."""
    return state_of(server, chromium, member)


@pytest.fixture
def open_context(browser: Browser) -> Iterator[Any]:
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        contexts.append(browser.new_context(**options))
        return contexts[-1]

    yield make
    for context in contexts:
        context.close()


def member_pages(server: Server, member: Member) -> list[str]:
    return [
        f"{server.url}/members",
        f"{server.url}/members/{member.handle}",
        f"{server.url}/profile",
        f"{server.url}/profile/picture/3/crop",
    ]


OVERLAPS_JS = """els => {
  const boxes = els.map(el => [el, el.getBoundingClientRect()])
    .filter(([, r]) => r.width > 1 && r.height > 1);  // visually hidden inputs
  const found = [];
  for (const [i, [a, ra]] of boxes.entries()) {
    for (const [b, rb] of boxes.slice(i + 1)) {
      const apart = ra.right <= rb.left + 0.5 || rb.right <= ra.left + 0.5
        || ra.bottom <= rb.top + 0.5 || rb.bottom <= ra.top + 0.5;
      if (!apart && !a.contains(b) && !b.contains(a))
        found.push(a.outerHTML.slice(0, 60) + " / " + b.outerHTML.slice(0, 60));
    }
  }
  return found;
}"""


def overlaps(page: Page) -> list[str]:
    """Pairs of visible controls whose boxes overlap (one inside the other does not count)."""
    found: list[str] = page.locator(CONTROLS).evaluate_all(OVERLAPS_JS)
    return found


def assert_fits(page: Page, url: str) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], f"{url} scrolls sideways: {width}"
    assert overlaps(page) == [], url


@pytest.mark.parametrize("viewport", PHONES, ids=lambda v: str(v["width"]))
def test_member_pages_fit_phone_widths(
    server: Server,
    member: Member,
    member_state: dict[str, Any],
    open_context: Any,
    viewport: dict[str, int],
) -> None:
    for javascript in (True, False):
        page = open_context(
            viewport=viewport, storage_state=member_state, java_script_enabled=javascript
        ).new_page()
        for url in member_pages(server, member):
            page.goto(url)
            assert_fits(page, url)


@pytest.mark.parametrize("viewport", PHONES, ids=lambda v: str(v["width"]))
def test_anonymous_pages_fit_phone_widths(
    server: Server, alice: Member, open_context: Any, viewport: dict[str, int]
) -> None:
    page = open_context(viewport=viewport).new_page()
    for url in (f"{server.url}/login", f"{server.url}/signup", f"{server.url}/members"):
        page.goto(url)
        assert_fits(page, url)


def test_history_rows_put_their_buttons_under_the_text_on_a_phone(
    server: Server, member_state: dict[str, Any], open_context: Any
) -> None:
    page = open_context(viewport=PHONES[0], storage_state=member_state).new_page()
    page.goto(f"{server.url}/profile")
    row = page.locator("#history .history-item").filter(has_text="Version 1")
    text = row.locator(".history-text").bounding_box()
    button = row.get_by_role("button", name="Delete version 1").bounding_box()
    assert text and button and button["y"] >= text["y"] + text["height"]


def test_header_link_names_the_member(
    server: Server, member_state: dict[str, Any], open_context: Any
) -> None:
    for viewport in (DESKTOP, PHONES[0]):
        page = open_context(viewport=viewport, storage_state=member_state).new_page()
        page.goto(f"{server.url}/members")
        link = page.get_by_role("banner").get_by_role("link", name="Your profile: Alice Liddell")
        expect(link).to_be_visible()


def test_without_javascript_nothing_script_only_shows(
    server: Server, member_state: dict[str, Any], open_context: Any
) -> None:
    page = open_context(storage_state=member_state, java_script_enabled=False).new_page()
    page.goto(f"{server.url}/profile")
    expect(page.get_by_text("Uploading…")).to_be_hidden()
    expect(page.get_by_role("progressbar")).to_be_hidden()
    expect(page.get_by_text("drop a picture")).to_be_hidden()
    expect(page.get_by_role("button", name="Upload", exact=True)).to_be_visible()


def test_with_javascript_the_drop_hint_shows(
    server: Server, member_state: dict[str, Any], open_context: Any
) -> None:
    page = open_context(storage_state=member_state).new_page()
    page.goto(f"{server.url}/profile")
    expect(page.get_by_text("drop a picture")).to_be_visible()
    expect(page.get_by_text("Uploading…")).to_be_hidden()


def test_without_javascript_upload_after_a_413_succeeds(
    server: Server, alice: Member, open_context: Any
) -> None:
    page = open_context(java_script_enabled=False).new_page()
    log_in(page, server, alice.handle)
    too_big = {
        "name": "big.jpg",
        "mimeType": "image/jpeg",
        "buffer": b"\xff\xd8\xff" + b"\0" * (11 << 20),
    }
    upload(page, too_big)
    expect(page.locator("#upload-error")).to_contain_text("larger than")
    upload(page, picture("green"))
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()


def test_stale_form_shows_a_page_and_the_next_try_works(
    server: Server, alice: Member, open_context: Any
) -> None:
    context = open_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, server, alice.handle)
    upload(page, picture("green"))
    context.clear_cookies(name="csrftoken")
    page.get_by_role("button", name="Delete version 1").click()
    expect(page.get_by_role("heading", name="This form had expired")).to_be_visible()
    page.get_by_role("link", name="Back to the page").click()
    page.get_by_role("button", name="Delete version 1").click()
    expect(page.get_by_text("Version 1 deleted.")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_deleted_picture_is_restored_after_a_reload(
    server: Server, browser: Browser, alice: Member, open_context: Any, javascript: bool
) -> None:
    state = state_of(server, browser, alice)  # its own: the test restores a version
    page = open_context(storage_state=state, java_script_enabled=javascript).new_page()
    page.goto(f"{server.url}/profile")
    deleted = page.locator("section").filter(
        has=page.get_by_role("heading", name="Deleted pictures")
    )
    expect(deleted.locator("time[datetime]").nth(1)).to_have_attribute("datetime", re.compile("T"))
    deleted.get_by_role("button", name="Restore version 2").click()
    expect(message(page, "Version 2 restored to your pictures.")).to_be_visible()
    expect(page.get_by_role("heading", name="Deleted pictures")).to_have_count(0)
    expect(page.locator("#history strong").filter(has_text="Version 2")).to_be_visible()
    current = page.locator("#history .history-item.is-active")
    expect(current).to_contain_text("Version 3")  # a restore never changes the picture


def focused_role(page: Page) -> str:
    return str(
        page.evaluate(
            "document.activeElement.getAttribute('role') || document.activeElement.tagName"
        )
    )


def test_focus_moves_to_the_message_after_each_swap(
    server: Server, alice: Member, open_context: Any
) -> None:
    page = open_context().new_page()
    log_in(page, server, alice.handle)
    steps = [
        (lambda: upload(page, picture("red")), "Version 1 uploaded."),
        (lambda: upload(page, picture("blue")), "Version 2 uploaded."),
        (
            lambda: page.get_by_role("button", name="Use this picture (version 1)").click(),
            "Version 1 is your picture now.",
        ),
        (lambda: page.get_by_role("button", name="Delete version 1").click(), "Version 1 deleted."),
        (lambda: page.get_by_role("button", name="Undo").click(), "Version 1 is your picture now."),
    ]
    for act, text in steps:
        act()
        expect(message(page, text)).to_be_focused()
        assert focused_role(page) == "status"


def test_message_numbers_equal_the_api_version(
    server: Server, alice: Member, open_context: Any
) -> None:
    token = server.token(alice.id, "e2e")
    page = open_context().new_page()
    log_in(page, server, alice.handle)
    with api(server, token) as client:

        def api_version() -> int:
            return int(client.get(f"/api/profile/picture/{alice.id}").json()["version"])

        # Each step waits for its message (the number the next version will have), then the
        # API must name that same number as the picture's version.
        for number, colour in enumerate(("red", "green", "blue"), 1):
            upload(page, picture(colour))
            expect(message(page, f"Version {number} uploaded.")).to_be_visible()
            assert api_version() == number
        page.get_by_role("button", name="Use this picture (version 1)").click()
        expect(message(page, "Version 1 is your picture now.")).to_be_visible()
        assert api_version() == 1
        page.goto(f"{server.url}/profile/picture/2/crop")
        page.get_by_role("button", name="Save as a new version").click()
        expect(message(page, "Version 4 saved from version 2.")).to_be_visible()
        assert api_version() == 4


@pytest.mark.parametrize("viewport", [DESKTOP, PHONES[1]], ids=["desktop", "phone"])
def test_axe_finds_no_serious_or_critical_violations(
    server: Server,
    member: Member,
    member_state: dict[str, Any],
    open_context: Any,
    viewport: dict[str, int],
) -> None:
    members_page = open_context(viewport=viewport, storage_state=member_state).new_page()
    anonymous = open_context(viewport=viewport).new_page()
    pages = [(members_page, url) for url in member_pages(server, member)[:3]] + [
        (anonymous, f"{server.url}/login"),
        (anonymous, f"{server.url}/signup"),
    ]
    found = {}
    for page, url in pages:
        page.goto(url)
        if bad := serious_violations(page):
            found[url] = bad
    assert found == {}
