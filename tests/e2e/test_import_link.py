"""Use a picture from a link, in Chromium: a link pasted on /profile becomes the picture in every
open tab, and a refused link is said in the form, which keeps it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import card, expect_live, expect_picture, signed_in
from tests.factories import jpeg
from tests.picture_site import PictureSite, serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """The module's server may fetch from the loopback, where the test's picture site is."""
    return {"FETCH_ALLOWED_NETWORKS": "127.0.0.0/8"}


@pytest.fixture
def site() -> Iterator[PictureSite]:
    with serve() as running:
        running.picture = jpeg("green", (640, 480))
        yield running


def use_link(page: Page, url: str) -> None:
    page.get_by_label("Link to a picture").fill(url)
    page.get_by_role("button", name="Use this link").click()


def test_a_pasted_link_becomes_the_picture_in_another_open_tab(
    server: Server,
    browser: Browser,
    alice: Member,
    bob: Member,
    site: PictureSite,
    console_errors: ConsoleErrors,
) -> None:
    profile = signed_in(browser, server, alice.handle, console_errors)
    directory = signed_in(browser, server, bob.handle, console_errors, "/members")
    expect_live(directory)

    use_link(profile, f"http://127.0.0.1:{site.port}/real/album/holiday.jpg")

    expect(profile.get_by_text("Version 1 made from the link.")).to_be_visible()
    expect(profile.locator(".history-meta").first).to_contain_text("holiday.jpg")
    expect_picture(card(directory, alice.id), 1, 96)
    assert [path for _host, path in site.seen] == ["/real/album/holiday.jpg"]
    assert console_errors == []


def test_a_refused_link_is_said_in_the_form_which_keeps_it(
    server: Server, browser: Browser, alice: Member, site: PictureSite
) -> None:
    profile = signed_in(browser, server, alice.handle)
    page_link = f"http://127.0.0.1:{site.port}/page.html"
    use_link(profile, page_link)
    expect(profile.get_by_role("alert")).to_contain_text("That link is not a picture.")
    expect(profile.get_by_label("Link to a picture")).to_have_value(page_link)
    use_link(profile, f"http://127.0.0.1:{site.port}/real/me.jpg")
    expect(profile.get_by_text("Version 1 made from the link.")).to_be_visible()
