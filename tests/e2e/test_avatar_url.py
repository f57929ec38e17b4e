"""Another site embeds a member's stable avatar URL (issue 27) with a plain `<img>`, and shows
their new picture after they upload one.

The other site is a stdlib http.server on `localhost` (another site than the app's 127.0.0.1,
not only another origin), and its page requires every cross-origin image to opt in
(`Cross-Origin-Embedder-Policy: require-corp`): the avatar URL and the variant it redirects to
load only because they say `Cross-Origin-Resource-Policy: cross-origin`. The app's favicon
(same-origin, as every page and master) must not load on any other site, and an image that
says nothing of CORP shows that the page's policy is in force.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Member, Server
from tests.factories import jpeg
from web.routes.avatar_url import BLANK_PNG

pytestmark = pytest.mark.e2e

VARIANT = re.compile(r"/media/avatars/\d+/(?P<name>[0-9a-f]{32})-(?P<px>\d+)\.(jpg|png)$")


class OtherSite:
    """A page per path, as the other site serves it."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, bool]] = {}  # path: HTML, and whether it sends COEP
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (http.server's name)
                if self.path == "/pixel.png":  # an image that says nothing of CORP
                    html, coep, body, kind = "", False, BLANK_PNG, "image/png"
                else:
                    html, coep = site.pages.get(self.path, ("", False))
                    body, kind = html.encode(), "text/html; charset=utf-8"
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", kind)
                if coep:
                    self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.httpd.server_address[1]
        self.url = f"http://localhost:{port}"
        self.pixel = f"http://127.0.0.1:{port}/pixel.png"  # another origin than the page's

    def page(self, path: str, *images: str, coep: bool = True) -> str:
        tags = "".join(
            f'<img id="i{n}" src="{src}" alt="" onerror="this.dataset.failed = 1">'
            for n, src in enumerate(images)
        )
        self.pages[path] = (f"<!doctype html><title>Other site</title>{tags}", coep)
        return self.url + path


@pytest.fixture(scope="module")
def other_site() -> Iterator[OtherSite]:
    site = OtherSite()
    thread = threading.Thread(target=site.httpd.serve_forever, daemon=True)
    thread.start()
    yield site
    site.httpd.shutdown()
    site.httpd.server_close()


def upload(server: Server, member: Member, colour: str) -> None:
    """A new picture, through the JSON API as another of the member's apps would."""
    response = httpx.post(
        f"{server.url}/api/profile/upload-picture",
        headers={"Authorization": f"Bearer {server.token(member.id)}"},
        files={"profilePicture": ("me.jpg", jpeg(colour, (320, 240)), "image/jpeg")},
        data={"userId": str(member.id)},
        timeout=60,
    )
    assert response.status_code == 201, response.text


def loaded(page: Page, load: Callable[[], Any], img: str = "#i0") -> tuple[int, str]:
    """What `load` shows in `img`: the picture's width and its file's content name."""
    with page.expect_response(lambda response: bool(VARIANT.search(response.url))) as file:
        load()
    assert file.value.status == 200
    expect(page.locator(img)).not_to_have_js_property("naturalWidth", 0)
    width: int = page.eval_on_selector(img, "img => img.naturalWidth")
    match = VARIANT.search(file.value.url)
    assert match
    return width, match["name"]


def test_another_site_shows_the_picture_and_the_new_one_after_an_upload(
    server: Server, browser: Browser, alice: Member, other_site: OtherSite
) -> None:
    upload(server, alice, "red")
    url = other_site.page("/team", f"{server.url}/members/{alice.handle}/avatar?s=64")
    page = browser.new_context().new_page()
    width, first = loaded(page, lambda: page.goto(url))
    assert width == 80  # 64 asked: the smallest variant at least that wide

    upload(server, alice, "blue")
    # The redirect may be kept a minute (its Cache-Control): a reload that revalidates what
    # it holds, as a visitor's after that minute, gets the new picture.
    cdp = page.context.new_cdp_session(page)
    width, second = loaded(page, lambda: cdp.send("Page.reload", {"ignoreCache": True}))
    assert width == 80
    assert second != first


def test_the_id_url_and_its_fallback_embed_and_same_origin_files_do_not(
    server: Server, browser: Browser, bob: Member, other_site: OtherSite
) -> None:
    favicon = f"{server.url}/static/favicon.svg"  # same-origin, as every page and master
    avatars = [f"{server.url}/avatar/{bob.id}?s=96", f"{server.url}/avatar/{bob.id}?d=blank"]
    page = browser.new_context().new_page()
    page.goto(other_site.page("/bob", *avatars, favicon, other_site.pixel))
    expect(page.locator("#i0")).to_have_js_property("naturalWidth", 96)  # bob's initials
    expect(page.locator("#i1")).to_have_js_property("naturalWidth", 1)
    expect(page.locator("#i2")).to_have_attribute("data-failed", "1")
    # Without CORP at all, an image is refused on this page too: COEP is in force.
    expect(page.locator("#i3")).to_have_attribute("data-failed", "1")

    page.goto(other_site.page("/plain", favicon, other_site.pixel, coep=False))
    expect(page.locator("#i1")).to_have_js_property("naturalWidth", 1)
    # Same-origin is refused to every other site, whatever its page asks.
    expect(page.locator("#i0")).to_have_attribute("data-failed", "1")
