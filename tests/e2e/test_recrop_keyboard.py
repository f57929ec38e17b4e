"""Re-crop in Chromium: it opens on the version's saved crop, the number fields give way to the
circle when the script runs, and the keyboard alone moves and resizes the circle and saves."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Member, Server
from tests.e2e.pages import signed_in

pytestmark = pytest.mark.e2e


def landscape() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1200, 600), "teal").save(out, "JPEG")
    return out.getvalue()


def open_crop_page(server: Server, browser: Browser, alice: Member, javascript: bool) -> Page:
    page = signed_in(browser, server, alice.handle, java_script_enabled=javascript)
    file = {"name": "wide.jpg", "mimeType": "image/jpeg", "buffer": landscape()}
    page.get_by_label("New picture").set_input_files(file)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    page.goto(f"{server.url}/profile/picture/1/crop")
    return page


def crop_fields(page: Page) -> list[str]:
    return [
        page.locator(f"input[name={name}]").input_value() for name in ("cropX", "cropY", "cropSize")
    ]


def test_without_javascript_the_fields_show_the_saved_crop(
    server: Server, browser: Browser, alice: Member
) -> None:
    page = open_crop_page(server, browser, alice, javascript=False)
    expect(page.get_by_label("Left edge")).to_be_visible()
    assert crop_fields(page) == ["0.2500", "0.0000", "1.0000"]  # the centred square it was cut with


def test_keyboard_moves_and_resizes_the_circle_and_saves(
    server: Server, browser: Browser, alice: Member
) -> None:
    page = open_crop_page(server, browser, alice, javascript=True)
    expect(page.get_by_label("Left edge")).to_be_hidden()
    circle = page.get_by_role("group", name="Crop circle")
    expect(circle).to_be_visible()
    page.keyboard.press("Tab")  # from the document start, Tab reaches the circle in order
    for _ in range(20):
        if circle.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(circle).to_be_focused()
    for key in ("-", "-", "+"):  # 100% -> 90% -> 95% of the short side
        page.keyboard.press(key)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    x, y, size = (float(v) for v in crop_fields(page))
    assert size == pytest.approx(0.95)
    # Shrinking keeps the centre: 15 px of 1200 (x) and of 600 (y), then one 1% step each way.
    assert x == pytest.approx(0.25 + 0.0125 + 0.01, abs=0.002)
    assert y == pytest.approx(0.025 + 0.01, abs=0.002)
    save = page.get_by_role("button", name="Save as a new version")
    for _ in range(20):  # on from the circle, past Rotate and the size slider
        if save.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(save).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Version 2 saved from version 1.")).to_be_visible()
