"""The kept versions on /profile in Chromium (issue 24, points 1, 2, 7 and 11): Restore versus
"Use this picture", Undo, a second tab (and the API) keeping the history, the deleted pictures
and the token list current, "Remove picture", and rows that name their own source.

Several tabs of one member are pages of one browser context, as a member's tabs are: one holds
the stream, the others hear it relayed (static/js/live-sync.js).
"""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import Browser, FilePayload, Locator, Page, expect

from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import (
    api,
    api_upload,
    big_avatar,
    card,
    expect_live,
    header_avatar,
    row,
    signed_in,
    upload,
    upload_version,
)
from web.plumbing.templating import filesize

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def notice(page: Page, text: str) -> Locator:
    return page.get_by_role("status").filter(has_text=text)


def current(page: Page) -> Locator:
    return page.locator("#history .history-item.is-active")


def deleted(page: Page) -> Locator:
    return page.locator("section").filter(has=page.get_by_role("heading", name="Deleted pictures"))


def use_button(page: Page, version: int) -> Locator:
    return page.get_by_role("button", name=f"Use this picture (version {version})")


def expect_initials(avatar: Locator, version: int) -> None:
    expect(avatar).to_have_attribute("data-avatar-version", str(version))
    expect(avatar.locator("svg")).to_be_visible()


def expect_photo(avatar: Locator, version: int) -> None:
    expect(avatar).to_have_attribute("data-avatar-version", str(version))
    expect(avatar.locator("img")).to_be_visible()


def second_tab(page: Page, server: Server, errors: ConsoleErrors, path: str = "/profile") -> Page:
    """Another tab of the same browser (context), at `path`, live."""
    other = errors.watch(page.context.new_page())
    other.goto(f"{server.url}{path}")
    expect_live(page)
    expect_live(other)
    return other


def two_versions(page: Page) -> None:
    upload_version(page, "red", 1)
    upload_version(page, "blue", 2)


# --- 1. Restore versus "Use this picture"; Undo ---------------------------------------------


def test_restore_puts_a_deleted_picture_back_and_keeps_the_current_one(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors, viewport=DESKTOP)
    two_versions(page)
    page.get_by_role("button", name="Delete version 1").click()
    expect(notice(page, "Version 1 deleted.")).to_be_visible()
    shown = big_avatar(page).locator("img").get_attribute("src")

    deleted(page).get_by_role("button", name="Restore version 1").click()
    expect(notice(page, "Version 1 restored to your pictures.")).to_be_visible()
    expect(deleted(page)).to_have_count(0)
    expect(row(page, 1)).to_be_visible()
    expect(current(page)).to_contain_text("Version 2")
    expect(big_avatar(page).locator("img")).to_have_attribute("src", shown or "")
    expect(use_button(page, 1)).to_have_text("Use this picture")
    expect(row(page, 2).get_by_role("button", name="Use this picture")).to_have_count(0)
    assert console_errors == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_use_this_picture_makes_a_version_current(
    server: Server, browser: Browser, alice: Member, javascript: bool
) -> None:
    page = signed_in(browser, server, alice.handle, java_script_enabled=javascript)
    two_versions(page)
    first = row(page, 1).locator("img").get_attribute("src") or ""
    use_button(page, 1).click()
    expect(notice(page, "Version 1 is your picture now.")).to_be_visible()
    expect(current(page)).to_contain_text("Version 1")
    expect(use_button(page, 2)).to_be_visible()
    # The history shows the 40 px picture, the page's own the 192 px one: the same files.
    expect(big_avatar(page).locator("img")).to_have_attribute("src", first.replace("-80.", "-192."))


def test_undo_returns_the_exact_state_before_each_action(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors, viewport=DESKTOP)
    two_versions(page)

    def undo(text: str) -> None:
        notice(page, text).get_by_role("button", name="Undo").click()

    page.get_by_role("button", name="Delete version 2").click()  # the current one
    expect(current(page)).to_contain_text("Version 1")
    undo("Version 2 deleted.")
    expect(notice(page, "Version 2 is your picture now.")).to_be_focused()
    expect(current(page)).to_contain_text("Version 2")
    expect(deleted(page)).to_have_count(0)

    page.get_by_role("button", name="Delete version 1").click()  # not the current one
    undo("Version 1 deleted.")
    expect(notice(page, "Version 1 restored to your pictures.")).to_be_visible()
    expect(current(page)).to_contain_text("Version 2")
    expect(row(page, 1)).to_be_visible()

    page.get_by_role("button", name="Remove picture").click()
    expect(current(page)).to_have_count(0)
    undo("Picture removed")
    expect(notice(page, "Version 2 is your picture now.")).to_be_visible()
    expect(current(page)).to_contain_text("Version 2")
    expect_photo(big_avatar(page), 8)
    assert console_errors == []


# --- 2. A second tab stays current ----------------------------------------------------------


def test_a_second_tab_follows_the_history_and_the_deleted_pictures_live(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors, viewport=DESKTOP)
    other = second_tab(page, server, console_errors)
    other.evaluate("window.notReloaded = true")

    two_versions(page)
    expect(current(other)).to_contain_text("Version 2")
    expect(use_button(other, 1)).to_be_visible()
    use_button(page, 1).click()
    expect(current(other)).to_contain_text("Version 1")
    expect(use_button(other, 2)).to_be_visible()
    expect(use_button(other, 1)).to_have_count(0)
    page.get_by_role("button", name="Delete version 2").click()
    expect(deleted(other).get_by_role("button", name="Restore version 2")).to_be_visible()
    expect(row(other, 2)).to_have_count(0)
    with api(server, server.token(alice.id)) as client:
        api_upload(client, alice.id, "green")
    expect(current(other)).to_contain_text("Version 3")
    expect(current(page)).to_contain_text("Version 3")

    # The other tab's buttons act on what it shows now.
    deleted(other).get_by_role("button", name="Restore version 2").click()
    expect(row(page, 2)).to_be_visible()
    expect(current(page)).to_contain_text("Version 3")
    assert other.evaluate("window.notReloaded") is True
    assert console_errors == []


def test_focus_stays_on_the_button_of_a_row_when_another_tab_changes_the_list(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors, viewport=DESKTOP)
    two_versions(page)
    other = second_tab(page, server, console_errors)
    other.get_by_role("button", name="Delete version 1").focus()

    upload_version(page, "green", 3)
    expect(row(other, 3)).to_be_visible()
    expect(other.get_by_role("button", name="Delete version 1")).to_be_focused()
    use_button(page, 2).click()
    expect(current(other)).to_contain_text("Version 2")
    expect(other.get_by_role("button", name="Delete version 1")).to_be_focused()
    other.keyboard.press("Enter")  # the member acts on the row they were on
    expect(notice(other, "Version 1 deleted.")).to_be_focused()
    expect(deleted(page).get_by_role("button", name="Restore version 1")).to_be_visible()
    assert console_errors == []


def test_a_second_tab_follows_the_token_list_live(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors, "/profile/tokens")
    other = second_tab(page, server, console_errors, "/profile/tokens")
    tokens = other.locator("#token-list")

    page.get_by_label("Name of a new token").fill("CRM sync")
    page.get_by_role("button", name="Create token").click()
    made = tokens.get_by_role("listitem").filter(has_text="CRM sync")
    expect(made).to_contain_text("never used")
    expect(page.locator("#token-list")).to_contain_text("CRM sync")
    token = page.get_by_label("Your new token").input_value()  # still shown in its own tab

    with api(server, token) as client:
        assert client.get(f"/api/profile/picture/{alice.id}").status_code == 200
    expect(made).to_contain_text("last used")
    expect(page.get_by_label("Your new token")).to_have_value(token)

    other.get_by_role("button", name="Revoke token CRM sync").focus()
    page.get_by_label("Name of a new token").fill("Backup")
    page.get_by_role("button", name="Create token").click()
    expect(tokens).to_contain_text("Backup")
    expect(other.get_by_role("button", name="Revoke token CRM sync")).to_be_focused()
    page.get_by_role("button", name="Revoke token CRM sync").click()
    expect(made).to_have_count(0)
    assert console_errors == []


# --- 7. Remove picture ----------------------------------------------------------------------


def test_remove_picture_shows_the_initials_everywhere_and_use_brings_it_back(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors, viewport=DESKTOP)
    upload_version(page, "red", 1)
    other = second_tab(page, server, console_errors)
    bobs = signed_in(browser, server, bob.handle, console_errors, "/members")
    expect_live(bobs)
    expect_photo(card(bobs, alice.id), 1)

    page.get_by_role("button", name="Remove picture").click()
    expect(notice(page, "Picture removed: your initials show instead.")).to_be_focused()
    for avatar in (big_avatar(page), header_avatar(page), big_avatar(other), card(bobs, alice.id)):
        expect_initials(avatar, 2)
    expect(current(other)).to_have_count(0)
    expect(other.get_by_role("button", name="Remove picture")).to_have_count(0)

    use_button(other, 1).click()  # kept in the history, used again from the other tab
    for avatar in (big_avatar(page), header_avatar(other), card(bobs, alice.id)):
        expect_photo(avatar, 3)
    expect(current(page)).to_contain_text("Version 1")
    assert console_errors == []


def test_remove_picture_works_without_javascript(
    server: Server, browser: Browser, alice: Member
) -> None:
    page = signed_in(browser, server, alice.handle, java_script_enabled=False)
    upload_version(page, "red", 1)
    page.get_by_role("button", name="Remove picture").click()
    expect(page).to_have_url(f"{server.url}/profile")
    expect(notice(page, "Picture removed")).to_be_visible()
    expect_initials(big_avatar(page), 2)
    expect(use_button(page, 1)).to_be_visible()


def test_the_apis_remove_picture_reaches_an_open_profile(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors)
    upload_version(page, "red", 1)
    expect_live(page)
    with api(server, server.token(alice.id)) as client:
        response = client.post("/api/profile/remove-picture", json={"userId": str(alice.id)})
    assert response.status_code == 200, response.text
    assert (response.json()["version"], response.json()["urls"]) == (None, None)
    expect_initials(big_avatar(page), 2)
    expect(current(page)).to_have_count(0)
    expect(use_button(page, 1)).to_be_visible()
    assert console_errors == []


def within_the_screen(button: Locator) -> None:
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_history_rows_fit_a_phone(server: Server, browser: Browser, alice: Member) -> None:
    page = signed_in(browser, server, alice.handle, viewport=PHONE)
    two_versions(page)
    page.get_by_role("button", name="Delete version 1").click()
    expect(notice(page, "Version 1 deleted.")).to_be_visible()
    within_the_screen(deleted(page).get_by_role("button", name="Restore version 1"))
    deleted(page).get_by_role("button", name="Restore version 1").click()
    expect(notice(page, "Version 1 restored to your pictures.")).to_be_visible()
    for button in (
        page.get_by_role("button", name="Remove picture"),
        page.get_by_role("button", name="Delete version 2"),
        use_button(page, 1),
    ):
        within_the_screen(button)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


# --- 11. Rows that name their own source ----------------------------------------------------


def webp(size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "WEBP")
    return out.getvalue()


def test_rows_name_the_chosen_file_its_size_and_a_recrops_source(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors, viewport=DESKTOP)
    # As the browser sends its downsized copy: under the chosen file's name, its own bytes.
    copy: FilePayload = {"name": "a.png", "mimeType": "image/webp", "buffer": webp()}
    upload(page, copy)
    expect(notice(page, "Version 1 uploaded.")).to_be_visible()
    meta = row(page, 1).locator(".history-meta")
    expect(meta).to_contain_text("a.png")
    expect(meta).to_contain_text(f"{filesize(len(copy['buffer']))} uploaded")

    page.goto(f"{server.url}/profile/picture/1/crop")
    page.get_by_role("button", name="Save as a new version").click()
    expect(notice(page, "Version 2 saved from version 1.")).to_be_visible()
    recrop = row(page, 2).locator(".history-meta")
    expect(recrop).to_contain_text("Re-crop of version 1")
    expect(recrop).to_contain_text("640×480 px")
    expect(recrop).not_to_contain_text("a.png")
    expect(recrop).to_contain_text("source")
    assert console_errors == []
