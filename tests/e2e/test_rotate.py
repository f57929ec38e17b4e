"""Rotating on the re-crop page in Chromium, with JavaScript on and off: the new version is cut
from the kept master turned a quarter, as the API's sizes and the served pixels show."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Member, Server
from tests.e2e.pages import api, signed_in

pytestmark = pytest.mark.e2e

RED, BLUE = (220, 30, 30), (30, 30, 220)


def wide_with_red_left() -> bytes:
    """600x300, its left third red (the marker), the rest blue."""
    picture = Image.new("RGB", (600, 300), BLUE)
    picture.paste(RED, (0, 0, 200, 300))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    return out.getvalue()


def is_red(pixel: tuple[int, ...]) -> bool:
    return pixel[0] > 150 and pixel[2] < 100


def rotate_and_save(
    server: Server, browser: Browser, alice: Member, javascript: bool, button: str
) -> None:
    page = signed_in(browser, server, alice.handle, java_script_enabled=javascript)
    file = {"name": "wide.jpg", "mimeType": "image/jpeg", "buffer": wide_with_red_left()}
    page.get_by_label("New picture").set_input_files(file)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    page.get_by_role("link", name="Re-crop version 1").click()
    page.get_by_role("link", name=button).click()
    expect(page.get_by_role("img", name="Version 1 of your picture")).to_be_visible()
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_text("Version 2 saved from version 1.")).to_be_visible()


def newest(server: Server, alice: Member) -> tuple[dict[str, object], Image.Image]:
    """The API's newest version and its largest served JPEG."""
    with api(server, server.token(alice.id)) as client:
        entry = client.get(f"/api/profile/picture/{alice.id}/history").json()["versions"][0]
        variant = client.get(entry["urls"]["lg"]["2x"])
    assert variant.status_code == 200
    return entry, Image.open(io.BytesIO(variant.content)).convert("RGB")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_rotate_right_turns_the_new_version_clockwise(
    server: Server, alice: Member, browser: Browser, javascript: bool
) -> None:
    rotate_and_save(server, browser, alice, javascript, "Rotate right")
    entry, square = newest(server, alice)
    assert (entry["version"], entry["width"], entry["height"]) == (2, 300, 600)
    side = square.width
    # The red left third is now the top: the centred square's top sixth.
    assert is_red(square.getpixel((side // 2, 5)))
    assert not is_red(square.getpixel((side // 2, side - 5)))
    assert not is_red(square.getpixel((5, side // 2)))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_rotate_left_turns_the_new_version_anticlockwise(
    server: Server, alice: Member, browser: Browser, javascript: bool
) -> None:
    rotate_and_save(server, browser, alice, javascript, "Rotate left")
    entry, square = newest(server, alice)
    assert (entry["version"], entry["width"], entry["height"]) == (2, 300, 600)
    side = square.width
    # The red left third is now the bottom.
    assert is_red(square.getpixel((side // 2, side - 5)))
    assert not is_red(square.getpixel((side // 2, 5)))
    assert not is_red(square.getpixel((5, side // 2)))
