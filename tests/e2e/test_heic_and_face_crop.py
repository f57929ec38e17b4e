"""An iPhone photo (HEIC) through the form reaches another tab; the cropper opens on the face
(found on the small copy the browser sends for the suggestion) and the upload keeps it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import images
from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import card, expect_live, signed_in
from tests.unit.test_face_crop import hopper_off_centre

pytestmark = pytest.mark.e2e
CROP_FIELDS = ("cropX", "cropY", "cropSize")


@pytest.fixture
def profile(server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors) -> Page:
    return signed_in(browser, server, alice.handle, console_errors)


def heic_file() -> dict[str, Any]:
    data = images.heic(images.quadrants((400, 300)))
    return {"name": "IMG_0001.HEIC", "mimeType": "image/heic", "buffer": data}


def test_heic_uploaded_through_the_form_appears_in_another_tab(
    server: Server, profile: Page, alice: Member, console_errors: ConsoleErrors
) -> None:
    directory = console_errors.watch(profile.context.new_page())
    directory.goto(f"{server.url}/members")
    expect_live(directory)
    alices = card(directory, alice.id)
    expect(alices.locator("svg")).to_be_visible()  # initials: no picture yet

    profile.get_by_label("New picture").set_input_files(heic_file())
    profile.get_by_role("button", name="Upload").click()
    expect(profile.get_by_text("Version 1 uploaded.")).to_be_visible()

    expect(alices).to_have_attribute("data-avatar-version", "1")
    src = re.compile(rf"^/media/avatars/{alice.id}/[0-9a-f]+-96\.jpg$")
    expect(alices.locator("img")).to_have_attribute("src", src)
    # Loaded (an auto-waiting property check: a string for wait_for_function is eval'd in the
    # page once it must poll, which the pages' CSP refuses).
    expect(alices.locator("img")).not_to_have_js_property("naturalWidth", 0)
    assert console_errors == []


def test_cropper_opens_on_the_face_and_the_upload_keeps_it(
    profile: Page, console_errors: ConsoleErrors
) -> None:
    photo = {"name": "hopper.jpg", "mimeType": "image/jpeg", "buffer": hopper_off_centre()}
    profile.get_by_label("New picture").set_input_files(photo)
    cropper = profile.locator("#upload-form [data-cropper]")
    expect(cropper).to_have_attribute("data-crop-from", "face")
    box = cropper.locator("[data-crop-box]")
    expect(box).to_be_visible()
    left = profile.evaluate(
        "() => { const r = document.querySelector('#upload-form [data-cropper]');"
        " return r.querySelector('[data-crop-box]').offsetLeft"
        " / r.querySelector('img').clientWidth; }"
    )
    suggested = cropper.get_attribute("data-suggested-crop").split()  # type: ignore[union-attr]
    x = float(suggested[0])
    assert x > 0.5 and abs(left - x) < 0.01  # the box is where the face is, not centred
    # Found on the small copy the browser sent, so sent as the crop: the upload is cut there.
    sent = [profile.locator(f"#upload-form [name={n}]").input_value() for n in CROP_FIELDS]
    assert sent == [f"{float(v):.4f}" for v in suggested]
    profile.get_by_role("button", name="Upload").click()
    expect(profile.get_by_text("Version 1 uploaded.")).to_be_visible()
    assert console_errors == []
