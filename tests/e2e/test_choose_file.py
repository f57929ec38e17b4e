"""Choosing a file on /profile in Chromium (issue 24, points 3, 4, 5 and 9), on a desktop and
a 390x844 phone: the crop suggestion gets a small copy the browser makes and nothing over 2 MB
leaves before Upload (every request's body counted from Playwright's request events); a phone
photo over the cap is downsized and keeps its name; type and size are said the moment a file is
chosen, the suggestion's refusals too, in step with the file; suggestions have their allowance
and every 429 says its Retry-After; Rotate keeps the crop; signed out in another tab or by an
expired session, the page says so, keeps the file and crop, and uploads them once signed in."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Request, Route, expect
from sqlmodel import delete, select

from db.models import ProfilePicture, WebSession
from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import signed_in
from tests.e2e.test_downsize import big_photo
from tests.e2e.test_rotate import newest
from tests.factories import PASSWORD
from web.plumbing.throttle import wait_text
from web.services.imaging import Limits, rejected

pytestmark = pytest.mark.e2e

MB = 1_000_000
SUGGEST = "/profile/picture/suggest-crop"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3}
PHONE |= {"is_mobile": True, "has_touch": True}
VIEWPORTS = {"desktop": {}, "phone": PHONE}
TOO_LARGE = rejected("too_large", Limits()).message
NOT_A_PICTURE = rejected("unsupported_format").message


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"UPLOADS_PER_MINUTE": "3", "SUGGESTIONS_PER_MINUTE": "5"}


@pytest.fixture(scope="module")
def photo() -> bytes:
    return big_photo()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> dict[str, Any]:
    return VIEWPORTS[request.param]


class Sent(list[Request]):
    """Every request a page sends, in order."""

    def __init__(self, page: Page) -> None:
        super().__init__()
        page.on("request", lambda request: self.append(request))

    def posts(self) -> list[tuple[str, int]]:
        """Each POST's path and body size (bytes)."""
        return [(r.url.split("/", 3)[3], body_size(r)) for r in self if r.method == "POST"]


def body_size(request: Request) -> int:
    length = request.all_headers().get("content-length")
    return int(length) if length else len(request.post_data_buffer or b"")


def no_errors_but_refusals(errors: ConsoleErrors, *statuses: int) -> None:
    """No script error, no CSP violation: what the console holds is only Chromium's own line for
    each refusal the test expects (it logs every 4xx answer to fetch or XHR)."""
    said = "Failed to load resource: the server responded with a status of "
    unexpected = [e for e in errors if not any(e.startswith(f"{said}{s} ") for s in statuses)]
    assert unexpected == []


def jpeg(colour: str, size: tuple[int, int] = (640, 480), name: str = "") -> dict[str, Any]:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return {"name": name or f"{colour}.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def profile(
    browser: Browser, server: Server, member: Member, errors: ConsoleErrors, **context: Any
) -> tuple[Page, Sent]:
    page = signed_in(browser, server, member.handle, errors, **context)
    return page, Sent(page)


def choose(page: Page, file: dict[str, Any]) -> None:
    page.get_by_label("New picture").set_input_files(file)


def suggested(page: Page, file: dict[str, Any], timeout_ms: float = 30_000) -> None:
    """Choose `file` and wait for the box to stand where its suggestion put it."""
    with page.expect_response(lambda r: r.url.endswith(SUGGEST), timeout=timeout_ms) as answer:
        choose(page, file)
    assert answer.value.status == 200
    expect(page.locator("#upload-form [data-cropper]")).to_have_attribute(
        "data-crop-from", answer.value.json()["source"]
    )


def message(page: Page) -> Any:
    return page.locator("#upload-form #upload-error")


def upload_button(page: Page) -> Any:
    return page.get_by_role("button", name="Upload", exact=True)


def history_names(page: Page) -> str:
    return page.locator("#history").inner_text()


# --- 3. The suggestion gets a small copy; nothing over 2 MB leaves before Upload. ---


def test_a_phone_photo_sends_a_small_copy_then_its_downsized_self_under_its_name(
    server: Server, browser: Browser, alice: Member, photo: bytes, console_errors: ConsoleErrors
) -> None:
    """On the phone; the same on a desktop, with a PNG, below."""
    page, sent = profile(browser, server, alice, console_errors, **PHONE)
    assert len(photo) > 10 * 2**20  # over the cap: 48 MP, about 15 MB
    suggested(page, {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}, 90_000)
    expect(upload_button(page)).to_be_enabled()
    chosen = page.locator("#profilePicture").evaluate("el => [el.files[0].name, el.files[0].size]")
    assert chosen[0] == "IMG_0001.jpg" and chosen[1] <= 10 * 2**20  # downsized, same name
    before_upload = sent.posts()
    assert [path for path, _ in before_upload] == [SUGGEST.lstrip("/")]
    assert all(size <= 2 * MB for _, size in before_upload), before_upload
    assert before_upload[0][1] < 100_000  # the suggestion's copy: tens of KB
    with page.expect_response(lambda r: r.url.endswith("/profile/picture")):
        upload_button(page).click()
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible(timeout=60_000)
    uploads = sent.posts()[len(before_upload) :]
    assert [path for path, _ in uploads] == ["profile/picture"]  # once, never the original
    assert 0 < uploads[0][1] <= 10 * 2**20 + 65536
    assert "IMG_0001.jpg" in history_names(page)
    print(f"suggestion {before_upload[0][1]} B, upload {uploads[0][1]} B of {len(photo)} B")
    assert console_errors == []


def test_a_big_png_is_downsized_and_history_keeps_its_name(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    noise = [Image.effect_noise((2600, 2000), 60) for _ in range(3)]
    out = io.BytesIO()
    Image.merge("RGB", noise).save(out, "PNG", compress_level=1)
    assert out.tell() > 10 * 2**20
    page, sent = profile(browser, server, alice, console_errors)
    suggested(page, {"name": "a.png", "mimeType": "image/png", "buffer": out.getvalue()}, 90_000)
    expect(upload_button(page)).to_be_enabled()
    assert all(size <= 2 * MB for _, size in sent.posts())
    upload_button(page).click()
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible(timeout=60_000)
    assert "a.png" in history_names(page) and "a.webp" not in history_names(page)
    assert console_errors == []


def test_a_13_mb_gif_and_a_text_file_are_refused_the_moment_they_are_chosen(
    server: Server,
    browser: Browser,
    alice: Member,
    viewport: dict[str, Any],
    console_errors: ConsoleErrors,
) -> None:
    page, sent = profile(browser, server, alice, console_errors, **viewport)
    gif = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(gif, "GIF")
    big_gif = gif.getvalue() + b"\0" * (13 * MB)
    choose(page, {"name": "loop.gif", "mimeType": "image/gif", "buffer": big_gif})
    expect(message(page)).to_have_text(TOO_LARGE)
    choose(page, {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a picture\n"})
    expect(message(page)).to_have_text(NOT_A_PICTURE)
    expect(page.get_by_label("New picture")).to_have_attribute("aria-invalid", "true")
    renamed = {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": b"<html>hello</html>"}
    choose(page, renamed)  # the name and type lie; the bytes do not
    expect(message(page)).to_have_text(NOT_A_PICTURE)
    suggested(page, jpeg("navy"))  # a picture: the message goes, the box shows
    expect(message(page)).to_have_count(0)
    expect(page.locator("#upload-form [data-crop-box]")).to_be_visible()
    assert [path for path, _ in sent.posts()] == [SUGGEST.lstrip("/")]  # only the copy
    # The server stays the judge on upload: the text file sent is refused in the same words.
    choose(page, renamed)
    upload_button(page).click()
    expect(message(page)).to_have_text(NOT_A_PICTURE)
    expect(page.get_by_label("New picture")).to_be_enabled()
    no_errors_but_refusals(console_errors, 415)


def multipart(token: str, data: bytes, mime: str) -> tuple[bytes, str]:
    """A suggestion's body as a browser would send it: its CSRF field and a file."""
    boundary = "choose-file-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="profilePicture"; '
        f'filename="copy"\r\nContent-Type: {mime}\r\n\r\n'
    )
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def swapped(route: Route, token: str, data: bytes, mime: str) -> None:
    """Send `data` instead of the copy, with the request's own headers (its cookies)."""
    body, kind = multipart(token, data, mime)
    headers = {k: v for k, v in route.request.headers.items() if k != "content-length"}
    route.continue_(post_data=body, headers=headers | {"content-type": kind})


CORRUPT = jpeg("olive")["buffer"][:400]
REFUSED_COPIES = {  # what reaches the server instead of the copy, and what it answers
    413: (jpeg("olive")["buffer"] + b"\0" * 400_000, "larger than 256 KiB"),
    415: (b"plain text, not a picture", NOT_A_PICTURE),
    422: (CORRUPT, rejected("corrupt").message),
}


@pytest.mark.parametrize("status", REFUSED_COPIES)
def test_the_suggestions_refusals_are_said_in_step_with_the_file(
    server: Server, browser: Browser, alice: Member, status: int, console_errors: ConsoleErrors
) -> None:
    """The server's real answer to a copy it refuses (the copy swapped on its way) is said in
    the form; choosing another file clears it."""
    page, _sent = profile(browser, server, alice, console_errors)
    data, words = REFUSED_COPIES[status]
    token = page.locator("#upload-form input[name=_csrf_token]").input_value()

    page.route(f"**{SUGGEST}", lambda route: swapped(route, token, data, "image/webp"))
    with page.expect_response(lambda r: r.url.endswith(SUGGEST)) as answer:
        choose(page, jpeg("maroon"))
    assert answer.value.status == status
    expect(message(page)).to_contain_text(words)
    page.unroute(f"**{SUGGEST}")
    suggested(page, jpeg("navy"))
    expect(message(page)).to_have_count(0)
    no_errors_but_refusals(console_errors, status)


def test_an_answer_about_a_file_no_longer_chosen_is_not_said(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page, _sent = profile(browser, server, alice, console_errors)
    held: list[Route] = []
    page.route(f"**{SUGGEST}", lambda route: held.append(route) if not held else route.continue_())
    choose(page, jpeg("maroon"))
    expect(page.locator("#upload-form [data-crop-box]")).to_be_visible()
    suggested(page, jpeg("navy"))  # chosen again: its own answer comes first
    token = page.locator("#upload-form input[name=_csrf_token]").input_value()
    with page.expect_response(lambda r: r.status == 415):
        swapped(held[0], token, b"plain text", "text/plain")
    expect(message(page)).to_have_count(0)  # about maroon.jpg, which is no longer chosen
    no_errors_but_refusals(console_errors, 415)


# --- 4. Suggestions have their own allowance; every 429 says the wait Retry-After gives. ---


def test_choosing_files_never_uses_up_the_uploads_and_429s_say_retry_after(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    """This module's server allows 5 suggestions and 3 uploads a minute."""
    page, _sent = profile(browser, server, alice, console_errors)
    for colour in ("red", "orange", "gold", "green", "teal"):
        suggested(page, jpeg(colour))
    with page.expect_response(lambda r: r.url.endswith(SUGGEST)) as sixth:
        choose(page, jpeg("blue"))
    assert sixth.value.status == 429
    wait = int(sixth.value.headers["retry-after"])
    expect(message(page)).to_contain_text(f"try again in {wait_text(wait)}.")
    for version in (1, 2, 3):  # six files chosen, and every upload is still there
        if version > 1:
            choose(page, jpeg("purple", name=f"v{version}.jpg"))
        upload_button(page).click()
        expect(page.get_by_text(f"Version {version} uploaded.")).to_be_visible()
    choose(page, jpeg("black"))
    with page.expect_response(lambda r: r.url.endswith("/profile/picture")) as fourth:
        upload_button(page).click()
    assert fourth.value.status == 429
    wait = int(fourth.value.headers["retry-after"])
    expect(message(page)).to_contain_text(f"try again in {wait_text(wait)}.")
    no_errors_but_refusals(console_errors, 429)


# --- 5. Rotate keeps the crop: the box turns with the picture. ---

RED, BLUE = (220, 30, 30), (30, 30, 220)
# The crop set below on a 600x300 picture: its top-right square of 105 px (x 495-600, y 0-105),
# inside the red marker; where each Rotate puts it on the 300x600 picture, as fractions.
TURNED = {
    "Rotate right": ("0.6500", "0.8250", "0.3500"),
    "Rotate left": ("0.0000", "0.0000", "0.3500"),
}


def marked() -> dict[str, Any]:
    """600x300, blue, its top-right 120 px square red."""
    picture = Image.new("RGB", (600, 300), BLUE)
    picture.paste(RED, (480, 0, 600, 120))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    return {"name": "marked.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def box_fractions(page: Page) -> list[float]:
    """Where the crop box stands over the picture: left, top and side as the fields say them."""
    return list(
        page.locator("[data-cropper]").evaluate(
            "(root) => { const img = root.querySelector('img'), box = root.querySelector("
            "'[data-crop-box]'); const short = Math.min(img.clientWidth, img.clientHeight);"
            " return [box.offsetLeft / img.clientWidth, box.offsetTop / img.clientHeight,"
            " box.offsetWidth / short]; }"
        )
    )


@pytest.mark.parametrize(
    ("screen", "button"), [("desktop", "Rotate right"), ("phone", "Rotate left")]
)
def test_rotate_keeps_the_crop_turned_with_the_picture(
    server: Server,
    browser: Browser,
    alice: Member,
    screen: str,
    button: str,
    console_errors: ConsoleErrors,
) -> None:
    page, _sent = profile(browser, server, alice, console_errors, **VIEWPORTS[screen])
    choose(page, marked())
    upload_button(page).click()
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    page.get_by_role("link", name="Re-crop version 1").click()
    box = page.locator("[data-crop-box]")
    expect(box).to_be_visible()
    box.focus()
    for _ in range(13):  # the side from 1 to 0.35, then to the top-right corner
        box.press("-")
    for _ in range(10):
        box.press("Shift+ArrowRight")
        box.press("Shift+ArrowUp")
    fields = [page.locator(f"input#{n}").input_value() for n in ("cropX", "cropY", "cropSize")]
    assert fields == ["0.8250", "0.0000", "0.3500"]
    page.get_by_role("link", name=button).click()
    expect(page.get_by_role("img", name="Version 1 of your picture")).to_be_visible()
    expect(box).to_be_visible()
    turned = TURNED[button]
    for name, value in zip(("cropX", "cropY", "cropSize"), turned, strict=True):
        expect(page.locator(f"input#{name}")).to_have_value(value)
    assert box_fractions(page) == pytest.approx([float(v) for v in turned], abs=0.01)
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_text("Version 2 saved from version 1.")).to_be_visible()
    entry, square = newest(server, alice)
    assert entry["version"] == 2
    side = square.width
    for at in ((side // 2, side // 2), (5, 5), (side - 5, side - 5), (5, side - 5)):
        assert square.getpixel(at)[0] > 150 > square.getpixel(at)[2], at  # red everywhere
    assert console_errors == []


# --- 9. Signed out while on /profile: said, the file and crop kept, uploaded once signed in. ---

SIGNED_OUT = "You are signed out"


def moved_crop(page: Page) -> list[str]:
    """Move the box (smaller, to the left): the crop fields the upload will send."""
    box = page.locator("#upload-form [data-crop-box]")
    expect(box).to_be_visible()
    box.focus()
    for key in ("-", "-", "-", "Shift+ArrowLeft", "Shift+ArrowLeft", "Shift+ArrowLeft"):
        box.press(key)
    return [page.locator(f"#upload-form [name={n}]").input_value() for n in CROP_FIELDS]


CROP_FIELDS = ("cropX", "cropY", "cropSize")


def signed_in_again(page: Page, server: Server, member: Member) -> None:
    """Follow the message's sign-in link: a new tab, where the member signs in."""
    with page.context.expect_page() as opened:
        message(page).get_by_role("link", name="Sign in again (opens a new tab)").click()
    tab = opened.value
    tab.get_by_label("Handle").fill(member.handle)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    tab.wait_for_url(f"{server.url}/profile")
    tab.close()


def uploaded_with(page: Page, server: Server, member: Member, name: str, crop: list[str]) -> None:
    """Upload is pressed again: the same file and crop are kept as version 1."""
    assert page.locator("#profilePicture").evaluate("el => el.files[0].name") == name
    assert [page.locator(f"#upload-form [name={n}]").input_value() for n in CROP_FIELDS] == crop
    upload_button(page).click()
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    with server.session() as db:
        row = db.exec(select(ProfilePicture).where(ProfilePicture.user_id == member.id)).one()
    assert row.original_name == name
    assert (row.meta["crop_source"], row.meta["crop"]) == ("member", [float(v) for v in crop])


def test_signed_out_in_another_tab_the_upload_says_so_and_keeps_file_and_crop(
    server: Server,
    browser: Browser,
    alice: Member,
    viewport: dict[str, Any],
    console_errors: ConsoleErrors,
) -> None:
    page, _sent = profile(browser, server, alice, console_errors, **viewport)
    suggested(page, jpeg("crimson", name="holiday.jpg"))
    crop = moved_crop(page)
    other = console_errors.watch(page.context.new_page())
    other.goto(f"{server.url}/profile")
    other.get_by_role("button", name="Log out").click()
    other.wait_for_url(f"{server.url}/members")
    other.close()

    upload_button(page).click()
    expect(message(page)).to_contain_text(SIGNED_OUT)
    expect(message(page)).to_be_focused()  # the keyboard is at the sign-in link's door
    assert page.url == f"{server.url}/profile"
    signed_in_again(page, server, alice)
    uploaded_with(page, server, alice, "holiday.jpg", crop)
    no_errors_but_refusals(console_errors, 401)


def test_signed_in_again_as_another_member_the_old_page_uploads_nothing(
    server: Server, browser: Browser, alice: Member, bob: Member, console_errors: ConsoleErrors
) -> None:
    page, _sent = profile(browser, server, alice, console_errors)
    suggested(page, jpeg("crimson", name="alices.jpg"))
    with server.session() as db:
        db.exec(delete(WebSession))  # type: ignore[call-overload]
        db.commit()
    upload_button(page).click()
    expect(message(page)).to_contain_text(SIGNED_OUT)
    signed_in_again(page, server, bob)
    with page.expect_response(lambda r: r.url.endswith("/profile/picture")) as answer:
        upload_button(page).click()
    assert answer.value.status == 409
    expect(message(page)).to_contain_text(f"you are now signed in as @{bob.handle}")
    with server.session() as db:
        kept = db.exec(select(ProfilePicture).where(ProfilePicture.user_id.in_([alice.id, bob.id])))  # type: ignore[attr-defined]
        assert kept.all() == []
    no_errors_but_refusals(console_errors, 401, 409)


def test_an_expired_session_is_said_at_the_suggestion_and_the_upload_then_sent(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page, _sent = profile(browser, server, alice, console_errors)
    with server.session() as db:  # every session ends, as when it expires
        db.exec(delete(WebSession))  # type: ignore[call-overload]
        db.commit()
    noise = [Image.effect_noise((2400, 1800), 60) for _ in range(3)]
    photo = io.BytesIO()
    Image.merge("RGB", noise).save(photo, "JPEG", quality=97)  # a phone photo, about 5 MB
    file = {"name": "portrait.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()}
    with page.expect_response(lambda r: r.url.endswith(SUGGEST)) as answer:
        choose(page, file)
    assert answer.value.status == 401
    expect(message(page)).to_contain_text(SIGNED_OUT)
    crop = moved_crop(page)  # the box still works, centred
    with page.expect_response(lambda r: r.url.endswith("/profile/picture")) as refused:
        upload_button(page).click()  # refused before its 5 MB are read, and said so
    assert refused.value.status == 401
    expect(message(page)).to_be_focused()
    signed_in_again(page, server, alice)
    uploaded_with(page, server, alice, "portrait.jpg", crop)
    no_errors_but_refusals(console_errors, 401)
