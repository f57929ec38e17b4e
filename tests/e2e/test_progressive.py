"""Issue 25, progressive pictures: every avatar paints its picture's colours before any picture
file arrives, without JavaScript; and each avatar's `sizes` says the width the CSS draws it at,
on a desktop, a tablet and a phone."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Route, expect

from tests.e2e.conftest import Member, Server

# Two colours a picture, left and right: far from each other and from the empty disc's grey.
HALVES = [
    ((220, 40, 40), (40, 90, 220)),
    ((30, 160, 60), (230, 200, 30)),
    ((140, 40, 180), (20, 180, 190)),
    ((240, 130, 20), (30, 30, 120)),
    ((200, 30, 120), (90, 200, 90)),
    ((20, 110, 90), (220, 90, 160)),
]
GREY = (0xDD, 0xE2, 0xEA)  # .avatar's background: what an avatar shows with nothing painted
VIEWPORTS = {"desktop": (1280, 800), "tablet": (600, 900), "phone": (390, 844)}
CLOSE = 70  # distance in RGB: the blurred preview of a half, measured a quarter in from the edge


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """The module's server makes AVIF copies (the test suites' servers otherwise do not)."""
    return {"AVIF_COPIES": "on"}


def halves(left: tuple[int, int, int], right: tuple[int, int, int]) -> bytes:
    im = Image.new("RGB", (400, 300), left)
    im.paste(right, (200, 0, 400, 300))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()


def upload(server: Server, member: Member, picture: bytes) -> None:
    token = server.token(member.id)
    response = httpx.post(
        f"{server.url}/api/profile/upload-picture",
        headers={"Authorization": f"Bearer {token}"},
        data={"userId": str(member.id)},
        files={"profilePicture": ("me.jpg", picture, "image/jpeg")},
        timeout=60,
    )
    assert response.status_code in (200, 201), response.text


Colours = tuple[tuple[int, int, int], tuple[int, int, int]]


@pytest.fixture(scope="module")
def pictured(server: Server) -> dict[Member, Colours]:
    """Members with a two-colour picture each, and their colours."""
    made = {}
    for left, right in HALVES:
        member = server.new_member("pic", "Pic Ture")
        upload(server, member, halves(left, right))
        made[member] = (left, right)
    return made


@pytest.fixture
def held_back(browser: Browser) -> Iterator[Page]:
    """A page without JavaScript whose requests for /media/ never get an answer."""
    context = browser.new_context(java_script_enabled=False)
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)  # never fulfilled: the files never arrive

    context.route("**/media/**", hold)
    yield context.new_page()
    context.close()


def distance(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(a, b, strict=False)) ** 0.5)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_avatars_paint_their_colours_before_any_picture_file_arrives(
    server: Server,
    pictured: dict[Member, Colours],
    held_back: Page,
    viewport: str,
) -> None:
    width, height = VIEWPORTS[viewport]
    held_back.set_viewport_size({"width": width, "height": height})
    # Not "load": the page's pictures never finish loading.
    held_back.goto(f"{server.url}/members", wait_until="domcontentloaded")
    boxes, shot = settled_shot(held_back, height)
    assert boxes, "no picture avatar in the first viewport"
    for user_id, (x, y, side) in boxes.items():
        left = shot.getpixel((round(x + side / 4), round(y + side / 2)))
        right = shot.getpixel((round(x + 3 * side / 4), round(y + side / 2)))
        want_left, want_right = {m.id: c for m, c in pictured.items()}[user_id]
        assert isinstance(left, tuple) and isinstance(right, tuple)
        assert distance(left, GREY) > CLOSE and distance(right, GREY) > CLOSE, (user_id, left)
        assert distance(left, want_left) < CLOSE, (user_id, left, want_left)
        assert distance(right, want_right) < CLOSE, (user_id, right, want_right)


Box = tuple[float, float, float]  # x, y, side in CSS pixels


def settled_shot(page: Page, height: int) -> tuple[dict[int, Box], Image.Image]:
    """The avatars on screen and a screenshot taken while they stood there. At
    "domcontentloaded" the stylesheet may still be on its way (on a busy machine): the layout it
    brings would move the avatars between their measure and the screenshot."""
    for _ in range(50):
        before = on_screen_avatars(page, height)
        shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        if on_screen_avatars(page, height) == before:
            return before, shot
        page.wait_for_timeout(100)
    raise AssertionError("the avatars kept moving for 5 s")


def on_screen_avatars(page: Page, height: int) -> dict[int, Box]:
    """The picture avatars wholly inside the first viewport: member id -> (x, y, side) in CSS
    pixels (the screenshot's, at a device scale of 1)."""
    found = {}
    for avatar in page.locator(".member-card [data-user-id]:has(picture)").all():
        box = avatar.bounding_box()
        assert box is not None
        if box["y"] + box["height"] <= height:
            found[int(avatar.get_attribute("data-user-id") or 0)] = (
                box["x"],
                box["y"],
                box["width"],
            )
    return found


# What `sizes` says for an <img> on this viewport: its first entry whose media query matches.
DRAWN_BY_SIZES = """img => {
  for (const entry of img.sizes.split(",")) {
    const at = entry.trim().lastIndexOf(" ");
    const query = at < 0 ? "" : entry.trim().slice(0, at);
    const width = entry.trim().slice(at + 1);
    if (!query || matchMedia(query).matches) return parseFloat(width);
  }
  return null;
}"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_sizes_say_the_width_the_css_draws_each_avatar_at(
    server: Server,
    pictured: dict[Member, Colours],
    browser: Browser,
    viewport: str,
) -> None:
    width, height = VIEWPORTS[viewport]
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    for path in ("/members", f"/members/{next(iter(pictured)).handle}"):
        page.goto(f"{server.url}{path}")
        images = page.locator(".avatar picture img").all()
        assert images
        for img in images:
            drawn = img.evaluate("img => img.getBoundingClientRect().width")
            assert img.evaluate(DRAWN_BY_SIZES) == drawn, (path, img.get_attribute("sizes"))


PHOTO = Path(__file__).parents[1] / "fixtures" / "pillow_hopper.jpg"


def test_a_photo_s_avif_copies_are_what_the_browser_shows_once_made(
    server: Server, browser: Browser
) -> None:
    """Made after the upload's answer: the member page offers them once they are recorded, and
    Chromium, which decodes AVIF, takes them over the WebP."""
    member = server.new_member("avif", "Avi F")
    upload(server, member, PHOTO.read_bytes())
    page = browser.new_page()
    url = f"{server.url}/members/{member.handle}"
    page.goto(url)
    # The page as served, asked again until it offers an AVIF source (the encodes run after the
    # answer, at the lowest priority): Playwright's own polling, no fixed wait.
    page.wait_for_function(
        """url => {
            const asked = new XMLHttpRequest();  // synchronous: the predicate's answer is a bool
            asked.open("GET", url, false);
            asked.send();
            return asked.responseText.includes('type="image/avif"');
        }""",
        arg=url,
        polling=250,
        timeout=60_000,
    )
    page.close()
    fresh = browser.new_context()  # an empty cache: the page may be shown stale a minute
    page = fresh.new_page()
    page.goto(url)
    main = page.locator("main [data-avatar-size=lg] picture img")
    expect(main).to_have_js_property("complete", True)
    assert main.evaluate("img => img.currentSrc").endswith(".avif")
    assert main.evaluate("img => img.naturalWidth") > 0  # decoded, not a broken image
    fresh.close()
