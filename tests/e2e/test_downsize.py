"""Big phone photos: with JavaScript on, a 48-megapixel ~15 MB JPEG (over the 10 MiB cap and the
40-megapixel limit) is downsized in the browser and uploads through the form, the one progress
bar saying "Preparing picture…" first, then "Uploading…"."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Member, Server
from tests.e2e.pages import signed_in

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


# Every change of what the upload's indicator shows, as a member would see it: its phase label
# and the bar's aria-valuetext while it is visible, "" while it is not.
WATCH_PHASES = """() => {
  window.phases = [];
  const seen = () => {
    const box = document.querySelector("[data-upload-indicator]");
    const bar = box?.querySelector("progress");
    const shown = box && !box.hidden && getComputedStyle(box).visibility === "visible";
    if (!shown) return "";
    const label = box.querySelector("[data-upload-phase-label]").textContent;
    return `${label}|${bar.getAttribute("aria-valuetext")}`;
  };
  new MutationObserver(() => {
    const now = seen();
    if (window.phases.at(-1) !== now) window.phases.push(now);
  }).observe(document.body, {
    subtree: true, childList: true, attributes: true, characterData: true
  });
}"""


@pytest.fixture(scope="module")
def photo() -> bytes:
    return big_photo()


def test_48_megapixel_jpeg_is_downsized_in_the_browser_and_uploads(
    server: Server, browser: Browser, alice: Member, photo: bytes
) -> None:
    page = signed_in(browser, server, alice.handle)
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


def test_the_progress_bar_shows_preparing_then_uploading(
    server: Server, browser: Browser, alice: Member, photo: bytes
) -> None:
    page = signed_in(browser, server, alice.handle)
    page.evaluate(WATCH_PHASES)
    file = {"name": "IMG_0002.jpg", "mimeType": "image/jpeg", "buffer": photo}
    page.get_by_label("New picture").set_input_files(file)
    upload = page.get_by_role("button", name="Upload", exact=True)
    expect(page.locator("[data-file-name]")).to_have_text("IMG_0002.jpg", timeout=30_000)
    expect(upload).to_be_enabled(timeout=30_000)
    expect(page.locator("[data-upload-indicator]")).to_be_hidden()  # prepared, not yet sent
    with page.expect_request(lambda r: r.method == "POST" and "/profile/picture" in r.url) as sent:
        upload.click()
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible(timeout=30_000)
    assert 0 < int(sent.value.all_headers().get("content-length", "0")) < len(photo)
    shown = [p.split("|") for p in page.evaluate("window.phases") if p]
    labels = [label for label, _ in shown]
    assert labels[0] == "Preparing picture…"
    assert "Uploading…" in labels[labels.index("Preparing picture…") :]
    assert ("Preparing picture…", "Preparing picture…") in [tuple(p) for p in shown]
    assert all(text.startswith(label) for label, text in shown)  # the bar says its phase too
