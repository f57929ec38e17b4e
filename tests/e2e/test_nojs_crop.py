"""Without JavaScript (Chromium, java_script_enabled=False): the re-crop page is a simple choice
of squares drawn over the picture, its legend fits a phone, and a refused form post follows
post/redirect/get (a reload posts nothing). With or without it, a small picture is kept with a
warning that it will look blurred."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Request, expect
from sqlmodel import select

from db.models import ProfilePicture
from tests.e2e.a11y import serious_violations
from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import signed_in, upload
from tests.unit.test_face_crop import hopper_off_centre
from web.services.imaging import RECOMMENDED_MIN_PX

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def jpeg(size: tuple[int, int], colour: str = "teal") -> dict[str, Any]:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return {"name": "wide.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def without_js(browser: Browser, server: Server, member: Member, **context: Any) -> Page:
    return signed_in(browser, server, member.handle, java_script_enabled=False, **context)


def crop_page(page: Page, server: Server, file: dict[str, Any]) -> Page:
    upload(page, file)
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    page.get_by_role("link", name="Re-crop version 1").click()
    expect(page.get_by_role("heading", name="Re-crop version 1")).to_be_visible()
    return page


def outline(page: Page, choice: str) -> Any:
    return page.locator(f".crop-outlines [data-choice={choice}]")


def saved_crop(server: Server, member: Member, version: int) -> list[float]:
    with server.session() as db:
        row = db.exec(
            select(ProfilePicture).where(
                ProfilePicture.user_id == member.id, ProfilePicture.version == version
            )
        ).one()
        return list(row.meta["crop"])


def test_without_javascript_the_crop_is_a_choice_drawn_over_the_picture(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = console_errors.watch(without_js(browser, server, alice))
    crop_page(page, server, jpeg((1200, 600)))
    choice = page.get_by_role("group", name="Crop", exact=True)
    names = ["Left", "Centre", "Right", "Exact"]
    for name in names:
        expect(choice.get_by_role("radio", name=name, exact=True)).to_be_visible()
    expect(choice.get_by_role("radio")).to_have_count(len(names))
    expect(page.get_by_role("radio", name="Centre")).to_be_checked()  # as it was cut
    expect(outline(page, "centre")).to_be_visible()
    expect(outline(page, "right")).to_be_hidden()
    page.get_by_role("radio", name="Right").check()  # CSS alone moves the outline
    expect(outline(page, "right")).to_be_visible()
    expect(outline(page, "centre")).to_be_hidden()
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_text("Version 2 saved from version 1.")).to_be_visible()
    assert saved_crop(server, alice, 2) == [0.5, 0.0, 1.0]
    assert console_errors == []  # no CSP refusal: no inline style


def test_without_javascript_a_face_is_offered_and_chosen(
    server: Server, browser: Browser, alice: Member
) -> None:
    page = without_js(browser, server, alice)
    photo = {"name": "hopper.jpg", "mimeType": "image/jpeg", "buffer": hopper_off_centre()}
    crop_page(page, server, photo)
    expect(page.get_by_role("radio", name="Face")).to_be_checked()
    expect(outline(page, "face")).to_be_visible()
    page.get_by_role("radio", name="Left").check()
    page.get_by_role("radio", name="Face").check()
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_text("Version 2 saved from version 1.")).to_be_visible()
    assert saved_crop(server, alice, 2)[0] > 0.6  # on the right, where the face is


def test_on_a_phone_the_legends_keep_to_one_line_and_nothing_scrolls_sideways(
    server: Server, browser: Browser, alice: Member
) -> None:
    page = without_js(browser, server, alice, viewport=PHONE)
    crop_page(page, server, jpeg((1200, 600)))
    for legend in ("Crop", "Exact square"):
        box = page.locator("legend", has_text=legend).first.bounding_box()
        size = page.locator("legend", has_text=legend).first.evaluate(
            "el => parseFloat(getComputedStyle(el).lineHeight)"
        )
        assert box is not None and box["height"] < 1.5 * size, (legend, box, size)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    radio = page.get_by_role("radio", name="Right").locator("xpath=ancestor::label").bounding_box()
    assert radio is not None and radio["height"] >= 44 and radio["width"] >= 44  # a tap target


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_serious_or_critical_violation_on_the_choice(
    server: Server, browser: Browser, alice: Member, viewport: dict[str, int]
) -> None:
    """axe needs the page's JavaScript engine (with it off, its run never settles): the page's
    own scripts are refused instead, which leaves the page as it is without JavaScript."""
    page = signed_in(browser, server, alice.handle, viewport=viewport)
    page.context.route("**/static/**/*.js*", lambda route: route.abort())
    photo = {"name": "hopper.jpg", "mimeType": "image/jpeg", "buffer": hopper_off_centre()}
    page.reload()
    crop_page(page, server, photo)
    expect(page.get_by_role("radio", name="Face")).to_be_visible()  # the choice, not the circle
    assert serious_violations(page) == []


def posts(page: Page) -> list[str]:
    sent: list[str] = []

    def keep(request: Request) -> None:
        if request.method == "POST":
            sent.append(request.url)

    page.on("request", keep)
    return sent


def test_without_javascript_a_refused_upload_follows_post_redirect_get(
    server: Server, browser: Browser, alice: Member
) -> None:
    page = without_js(browser, server, alice)
    sent = posts(page)
    upload(page, {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture"})
    error = page.locator("#upload-error")
    expect(error).to_contain_text("not a picture we can use")
    assert page.url == f"{server.url}/profile"  # the 303's page, not the POST's answer
    assert len(sent) == 1
    page.reload()  # no "resend the form?": the page is a GET
    expect(page.get_by_role("heading", name="Change your picture")).to_be_visible()
    expect(error).to_have_count(0)  # said once
    assert len(sent) == 1
    upload(page, jpeg((600, 400)))  # the form still works
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()


def test_without_javascript_a_refused_link_keeps_what_was_typed(
    server: Server, browser: Browser, alice: Member
) -> None:
    page = without_js(browser, server, alice)
    page.get_by_label("Link to a picture").fill("http://10.0.0.1/me.jpg")
    page.get_by_role("button", name="Use this link").click()
    expect(page.locator("#link-error")).to_have_text("That address is not on the public internet.")
    expect(page.get_by_label("Link to a picture")).to_have_value("http://10.0.0.1/me.jpg")
    assert page.url == f"{server.url}/profile"


def test_without_javascript_a_refused_crop_comes_back_as_typed(
    server: Server, browser: Browser, alice: Member
) -> None:
    page = without_js(browser, server, alice)
    crop_page(page, server, jpeg((1200, 600)))
    sent = posts(page)
    page.get_by_role("radio", name="Exact").check()
    page.get_by_label("Left edge").fill("0.9")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("alert")).to_contain_text("a square that lies inside the picture")
    expect(page.get_by_label("Left edge")).to_have_value("0.9")
    expect(page.get_by_role("radio", name="Exact")).to_be_checked()
    assert page.url == f"{server.url}/profile/picture/1/crop"
    page.reload()
    expect(page.get_by_role("alert")).to_have_count(0)
    assert len(sent) == 1


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_10x10_picture_is_kept_with_a_warning_that_it_will_look_blurred(
    server: Server, browser: Browser, alice: Member, javascript: bool
) -> None:
    page = signed_in(browser, server, alice.handle, java_script_enabled=javascript)
    side = RECOMMENDED_MIN_PX
    expect(page.locator("#upload-help")).to_contain_text(f"at least {side}×{side} pixels")
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "red").save(out, "PNG")
    upload(page, {"name": "tiny.png", "mimeType": "image/png", "buffer": out.getvalue()})
    expect(page.get_by_text("Version 1 uploaded.")).to_be_visible()
    warning = page.locator(".flash-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("only 10×10 pixels: it will look blurred")
