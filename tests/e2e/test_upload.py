"""Uploading, restoring and deleting a picture in Chromium, with JavaScript on and off."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import picture, signed_in, upload

pytestmark = pytest.mark.e2e


def lg_image(page: Page) -> Any:
    return page.locator("main [data-avatar-size=lg] img")


def header_image(page: Page) -> Any:
    return page.get_by_role("banner").locator("[data-avatar-size=xs] img")


@pytest.fixture
def alice_page(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> Page:
    return signed_in(browser, server, alice.handle, console_errors)


def test_upload_with_javascript_swaps_in_place(
    alice_page: Page, console_errors: ConsoleErrors
) -> None:
    page = alice_page
    page.evaluate("window.notReloaded = true")
    upload(page, picture("red"))
    expect(page.get_by_role("status").filter(has_text="Version 1 uploaded.")).to_be_visible()
    expect(lg_image(page)).to_have_attribute("alt", "Alice Liddell")
    expect(header_image(page)).to_have_attribute("width", "24")
    assert page.evaluate("window.notReloaded") is True
    # The new picture loads: wait for it, it arrives after the swap.
    expect(page.locator("main [data-avatar-size=lg] img")).not_to_have_js_property(
        "naturalWidth", 0
    )
    assert console_errors == []


def test_upload_with_javascript_off_redirects_and_shows_picture(
    server: Server, browser: Browser, alice: Member
) -> None:
    page = signed_in(browser, server, alice.handle, java_script_enabled=False)
    upload(page, picture("blue"))
    expect(page).to_have_url(f"{server.url}/profile")
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    expect(lg_image(page)).to_be_visible()
    expect(header_image(page)).to_be_visible()


def test_use_an_old_version_then_delete_and_undo(alice_page: Page) -> None:
    page = alice_page
    upload(page, picture("red"))
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    first = lg_image(page).get_attribute("src")
    upload(page, picture("green"))
    expect(page.get_by_text("Version 2 uploaded.")).to_be_visible()
    assert lg_image(page).get_attribute("src") != first

    page.get_by_role("button", name="Use this picture (version 1)").click()
    expect(page.get_by_text("Version 1 is your picture now.")).to_be_visible()
    expect(lg_image(page)).to_have_attribute("src", first or "")

    page.get_by_role("button", name="Delete version 1").click()
    expect(page.get_by_text("Version 1 deleted.")).to_be_visible()
    expect(page.get_by_role("button", name="Delete version 1")).to_have_count(0)
    expect(lg_image(page)).not_to_have_attribute("src", first or "")

    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Version 1 is your picture now.")).to_be_visible()
    expect(lg_image(page)).to_have_attribute("src", first or "")


def test_refused_file_shows_its_message_and_the_form_still_works(alice_page: Page) -> None:
    page = alice_page
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    # Said the moment it is chosen (static/js/upload-check.js), and by the server once sent.
    with page.expect_response(lambda r: r.url.endswith("/profile/picture")) as refused:
        upload(page, {"name": "evil.jpg", "mimeType": "image/jpeg", "buffer": svg})
    assert refused.value.status == 415
    expect(page.get_by_role("alert")).to_contain_text("JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF")
    upload(page, picture("red"))
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)


def test_dropped_picture_is_previewed_and_uploaded(alice_page: Page) -> None:
    page = alice_page
    page.evaluate(
        """async () => {
            const canvas = document.createElement("canvas");
            Object.assign(canvas, {width: 320, height: 200});
            canvas.getContext("2d").fillRect(0, 0, 320, 200);
            const blob = await new Promise((done) => canvas.toBlob(done, "image/png"));
            const drop = new DataTransfer();
            drop.items.add(new File([blob], "dropped.png", {type: "image/png"}));
            const form = document.querySelector("[data-drop-zone]");
            form.dispatchEvent(new DragEvent("dragover", {bubbles: true, dataTransfer: drop}));
            form.dispatchEvent(new DragEvent("drop", {bubbles: true, dataTransfer: drop}));
        }"""
    )
    expect(page.get_by_role("img", name="Preview of the chosen picture")).to_be_visible()
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    expect(page.locator(".history-meta")).to_contain_text("dropped.png")
