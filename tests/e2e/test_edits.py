"""Enhance and background blur in Chromium (issue 28): the live preview, the upload, every open
tab, the history's words, restoring the earlier version; the re-crop page's preview, of the
version's master as turned and cut there; and the same choices without JavaScript.

The photo is the public-domain portrait in tests/fixtures (pillow_hopper.jpg; its source and
licence in tests/fixtures/README.md), scaled up and dimmed so that enhance has work to do.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageEnhance, ImageStat
from playwright.sync_api import Browser, FilePayload, Locator, expect

from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import (
    big_avatar,
    expect_live,
    header_avatar,
    row,
    signed_in,
    upload,
    upload_version,
)

pytestmark = pytest.mark.e2e

HOPPER = Path(__file__).parent.parent / "fixtures" / "pillow_hopper.jpg"


def dim_portrait() -> FilePayload:
    with Image.open(HOPPER) as im:
        big = im.convert("RGB").resize((512, 512), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    ImageEnhance.Brightness(big).enhance(0.5).save(buf, "JPEG", quality=90)
    return {"name": "portrait.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}


# The mean brightness and a checksum of the pixels of a decoded <img>, read through a canvas.
PIXELS = """img => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, check = 0;
  for (let i = 0; i < data.length; i += 4) {
    sum += data[i] + data[i + 1] + data[i + 2];
    check = (check * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) % 1000000007;
  }
  return [sum / (data.length / 4) / 3, check];
}"""


# The decoded <img> as PNG bytes, read through a canvas.
PNG = """img => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  canvas.getContext("2d").drawImage(img, 0, 0);
  return canvas.toDataURL("image/png").split(",")[1];
}"""


def shown(preview: Locator) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(preview.locator("img").evaluate(PNG))))


def difference(a: Image.Image, b: Image.Image) -> float:
    """The mean absolute difference of two pictures' grey levels."""
    return float(ImageStat.Stat(ImageChops.difference(a.convert("L"), b.convert("L"))).mean[0])


def mean_level(file: FilePayload) -> float:
    with Image.open(io.BytesIO(file["buffer"])) as im:
        grey = im.convert("L")
        return sum(i * n for i, n in enumerate(grey.histogram())) / (grey.width * grey.height)


def test_preview_upload_every_tab_history_and_restore(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors)
    upload_version(page, "red", 1)
    plain = big_avatar(page).locator("img").get_attribute("src") or ""
    other = console_errors.watch(page.context.new_page())
    other.goto(f"{server.url}/profile")
    expect_live(page)
    expect_live(other)

    photo = dim_portrait()
    page.get_by_label("New picture").set_input_files(photo)
    preview = page.locator("[data-edits-preview]")
    page.get_by_label("Enhance (exposure, colour, contrast)").check()
    expect(preview).to_have_attribute("data-state", "ready")
    expect(preview).to_have_attribute("data-previews", "1")
    enhanced_level, enhanced = preview.locator("img").evaluate(PIXELS)
    assert enhanced_level >= mean_level(photo) + 20  # the dim photo, brightened
    page.get_by_label("Blur background").check()
    expect(preview).to_have_attribute("data-previews", "2")
    expect(preview).to_have_attribute("data-state", "ready")
    assert preview.locator("img").evaluate("img => img.naturalWidth") == 192
    _, blurred = preview.locator("img").evaluate(PIXELS)
    assert blurred != enhanced  # the preview changed with the background blurred
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text("Version 2 uploaded.")).to_be_visible()

    for tab in (page, other):
        expect(big_avatar(tab).locator("img")).not_to_have_attribute("src", plain)
        expect(row(tab, 2)).to_contain_text("enhanced")
        expect(row(tab, 2)).to_contain_text("background blurred")
        expect(row(tab, 1)).not_to_contain_text("enhanced")

    page.get_by_role("button", name="Use this picture (version 1)").click()
    expect(page.get_by_text("Version 1 is your picture now.")).to_be_visible()
    for tab in (page, other):  # the picture of version 1 again, in the page and the header
        expect(big_avatar(tab).locator("img")).to_have_attribute("src", plain)
        expect(header_avatar(tab).locator("img")).to_be_visible()
    assert console_errors == []


def test_the_same_choices_work_without_javascript(
    server: Server, browser: Browser, alice: Member
) -> None:
    page = signed_in(browser, server, alice.handle, java_script_enabled=False)
    page.get_by_label("Background colour", exact=True).check()
    page.get_by_label("Enhance (exposure, colour, contrast)").check()
    upload(page, dim_portrait())
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    expect(row(page, 1)).to_contain_text("enhanced")
    expect(row(page, 1)).to_contain_text("background colour #ffffff")


def test_the_recrop_page_previews_the_edits_as_turned_and_cut(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors)
    photo = dim_portrait()
    upload(page, photo)
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    page.get_by_role("link", name="Re-crop version 1").click()
    preview = page.locator("[data-edits-preview]")
    expect(preview).to_be_hidden()  # no edit chosen: nothing to preview
    page.get_by_label("Enhance (exposure, colour, contrast)").check()
    expect(preview).to_have_attribute("data-state", "ready")
    expect(preview).to_have_attribute("data-previews", "1")
    level, _ = preview.locator("img").evaluate(PIXELS)
    assert level >= mean_level(photo) + 20  # the version's dim picture, brightened
    upright = shown(preview)

    page.get_by_role("link", name="Rotate right").click()
    expect(page.get_by_role("img", name="Version 1 of your picture")).to_be_visible()
    # The link carried the choice: the turned page previews it at once.
    expect(page.get_by_label("Enhance (exposure, colour, contrast)")).to_be_checked()
    expect(preview).to_have_attribute("data-state", "ready")
    expect(preview).to_have_attribute("data-previews", "1")
    turned = shown(preview)
    # The preview is of the picture turned a quarter clockwise: the upright one, turned, is
    # nearly it (about 3 levels: enhance is not exactly the same turned); as it was, far (70).
    clockwise = upright.transpose(Image.Transpose.ROTATE_270)
    assert difference(turned, clockwise) < 10 < difference(turned, upright)

    page.get_by_label("Blur background").check()
    expect(preview).to_have_attribute("data-previews", "2")
    expect(preview).to_have_attribute("data-state", "ready")
    assert difference(shown(preview), turned) > 0  # the background blurred as well
    _, blurred = preview.locator("img").evaluate(PIXELS)
    page.get_by_role("group", name="Crop circle").press("-")  # a smaller square: a new preview
    expect(preview).to_have_attribute("data-previews", "3")
    expect(preview).to_have_attribute("data-state", "ready")
    _, smaller = preview.locator("img").evaluate(PIXELS)
    assert smaller != blurred
    assert console_errors == []
