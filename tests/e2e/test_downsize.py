"""Big phone photos: with JavaScript on, a 48-megapixel ~15 MB JPEG (over the 10 MiB cap and the
40-megapixel limit) is downsized in the browser and uploads through the form."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Server, log_in

pytestmark = pytest.mark.e2e


def big_photo() -> bytes:
    """8000x6000 (48 MP), photo-like noise on a gradient: about 15 MB as a JPEG."""
    from PIL import Image

    w, h = 8000, 6000
    grain = Image.effect_noise((w // 4, h // 4), 30).resize((w, h))
    sky = Image.linear_gradient("L").resize((w, h))
    tint = Image.effect_noise((w // 4, h // 4), 20).resize((w, h))
    out = io.BytesIO()
    Image.merge("RGB", [grain, sky, tint]).save(out, "JPEG", quality=94)
    return out.getvalue()


def test_48_megapixel_jpeg_is_downsized_in_the_browser_and_uploads(
    server: Server, browser: Browser
) -> None:
    server.add_member("alice", "Alice Liddell")
    page = browser.new_context().new_page()
    log_in(page, server, "alice")
    photo = big_photo()
    assert len(photo) > 10 * 2**20  # over the cap: the server alone would refuse it
    file = {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}
    page.get_by_label("New picture").set_input_files(file)
    upload = page.get_by_role("button", name="Upload", exact=True)
    expect(page.locator("[data-file-name]")).to_have_text("IMG_0001.jpg", timeout=30_000)
    expect(upload).to_be_enabled(timeout=30_000)
    chosen = page.locator("#profilePicture").evaluate("el => el.files[0].size")
    assert chosen <= 10 * 2**20  # the form now holds the downsized file
    with page.expect_request(lambda r: r.method == "POST" and "/profile/picture" in r.url) as sent:
        upload.click()
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible(timeout=30_000)
    sent_bytes = int(sent.value.all_headers().get("content-length", "0"))
    assert 0 < sent_bytes < len(photo)
    size = page.locator("#history .history-item").first.inner_text()
    assert "4096×3072 px" in size
