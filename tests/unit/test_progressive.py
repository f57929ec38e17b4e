"""Issue 25: progressive avatars (a preview per version, srcset and sizes, what loads first),
compressed text, and what may be cached for how long."""

from __future__ import annotations

import base64
import io
from typing import Any

from litestar.testing import TestClient
from PIL import Image
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests.cli import ppsync
from tests.factories import add_member, jpeg, profile_of
from tests.forms import upload
from tests.html import one, parse
from web.plumbing.caching import PAGE
from web.plumbing.responsive import EAGER_CARDS, sizes
from web.services.accounts.tokens import issue_token
from web.services.audit import Actor
from web.services.pictures.names import variant_key
from web.services.pictures.storage import DiskStore
from web.settings import Settings

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


def api_upload(client: TestClient[Any], db: Session, user_id: int, colour: str) -> None:
    token = issue_token(db, actor=Actor(None), name="t", user_id=user_id)
    response = client.post(
        "/api/profile/upload-picture",
        headers={"Authorization": f"Bearer {token}"},
        data={"userId": str(user_id)},
        files={"profilePicture": ("me.jpg", jpeg(colour, (120, 90)), "image/jpeg")},
    )
    assert response.status_code in (200, 201), response.text


def candidates(srcset: str) -> dict[str, str]:
    """Width descriptor -> URL."""
    return {width: url for url, width in (c.split() for c in srcset.split(", "))}


# --- the avatar's markup ---------------------------------------------------------------------


def test_a_picture_avatar_carries_its_preview_as_a_small_webp_data_uri(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg("#2060c0"))
    avatar = one(client.get("/profile").text, "main [data-avatar-size=lg]")
    image = one(str(avatar), "svg.avatar-ph image")
    head, _, data = image["href"].partition(",")
    assert head == "data:image/webp;base64"
    preview = Image.open(io.BytesIO(base64.b64decode(data)))
    assert preview.format == "WEBP" and preview.size == (10, 10)
    red, green, blue = preview.convert("RGB").resize((1, 1)).getpixel((0, 0))  # type: ignore[misc]
    assert abs(red - 0x20) < 24 and abs(green - 0x60) < 24 and abs(blue - 0xC0) < 24
    # About 200 bytes of HTML for the preview, whatever the picture.
    assert len(str(avatar.select_one("svg.avatar-ph"))) <= 260
    assert avatar.select_one("svg.avatar-ph")["aria-hidden"] == "true"


def test_srcset_offers_widths_and_sizes_follow_the_css(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg())
    page = client.get("/profile").text
    main = one(page, "main [data-avatar-size=lg]")
    webp = one(str(main), "source[type='image/webp']")
    img = one(str(main), "picture img")
    assert set(candidates(webp["srcset"])) == {"96w", "192w", "384w"}
    assert all(url.endswith(f"-{w[:-1]}.webp") for w, url in candidates(webp["srcset"]).items())
    assert set(candidates(img["srcset"])) == {"96w", "192w", "384w"}
    assert webp["sizes"] == img["sizes"] == sizes("lg")
    assert sizes("lg") == "(max-width: 30rem) 96px, (max-width: 40rem) 128px, 192px"
    assert (img["width"], img["height"]) == ("192", "192")
    assert img["fetchpriority"] == "high" and img.get("loading") is None
    header = one(page, "header [data-avatar-size=xs] picture img")
    assert set(candidates(header["srcset"])) == {"24w", "40w", "48w"}
    assert header["sizes"] == "24px"
    assert header.get("fetchpriority") is None


def test_history_thumbnails_offer_webp_with_widths(client: TestClient[Any], member: int) -> None:
    upload(client, jpeg())
    row = one(client.get("/profile").text, "#history .history-item picture")
    assert set(candidates(one(str(row), "source[type='image/webp']")["srcset"])) == {
        "40w",
        "48w",
        "80w",
    }
    img = one(str(row), "img")
    assert (img["width"], img["height"], img["sizes"]) == ("40", "40", "40px")


def test_the_first_row_of_cards_loads_eagerly_and_the_rest_lazily(
    client: TestClient[Any], db: Session
) -> None:
    for n in range(EAGER_CARDS + 2):
        api_upload(client, db, add_member(db, f"m{n:02}", f"Member {n}"), "#3080a0")
    cards = parse(client.get("/members").text).select(".member-card picture img")
    assert len(cards) == EAGER_CARDS + 2
    assert [img.get("loading") for img in cards] == [None] * EAGER_CARDS + ["lazy"] * 2
    assert all(img.get("fetchpriority") is None for img in cards)
    assert all(img["sizes"] == sizes("md") == "(max-width: 30rem) 54px, 96px" for img in cards)


def test_a_member_page_marks_its_avatar_high_priority(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    api_upload(client, db, alice, "#a03020")
    img = one(client.get("/members/alice").text, "main [data-avatar-size=lg] picture img")
    assert img["fetchpriority"] == "high"


# --- scripts per page ------------------------------------------------------------------------


def scripts(html: str) -> set[str]:
    return {tag["src"].split("?")[0].rsplit("/", 1)[1] for tag in parse(html).select("script")}


def test_each_page_loads_only_the_scripts_it_uses(client: TestClient[Any], member: int) -> None:
    everywhere = {"htmx-4.0.1.min.js", "hx-sse-4.0.1.min.js", "live-sync.js"}
    assert scripts(client.get("/members").text) == everywhere
    assert scripts(client.get("/members/alice").text) == everywhere
    assert scripts(client.get("/profile/tokens").text) == everywhere | {
        "focus-after-swap.js",
        "copy.js",
    }
    assert scripts(client.get("/profile").text) == everywhere | {
        "upload-progress.js",
        "upload-preview.js",
        "cropper.js",
        "drop-zone.js",
        "file-picker.js",
        "upload-check.js",
        "downsize.js",
        "focus-after-swap.js",
        "copy.js",  # the member id's copy button
        "edits-preview.js",  # the edit choices' live preview ([data-edits][data-preview-url])
    }


# --- compression -----------------------------------------------------------------------------


def test_pages_css_and_js_are_gzipped_when_the_client_accepts_it(
    client: TestClient[Any], alice: int
) -> None:
    page = client.get("/members", headers=GZIP)
    assert page.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in page.headers["vary"].lower()
    html = parse(page.text)
    assets = [html.select("link[rel=stylesheet]")[0]["href"], html.select("script")[0]["src"]]
    for url in assets:
        assert client.get(url, headers=GZIP).headers["content-encoding"] == "gzip", url
    assert "content-encoding" not in client.get("/members", headers=PLAIN).headers


def test_picture_files_are_never_compressed(client: TestClient[Any], member: int) -> None:
    upload(client, jpeg())
    img = one(client.get("/profile").text, "main [data-avatar-size=lg] picture img")
    for url in [img["src"], *candidates(img["srcset"]).values()]:
        response = client.get(url, headers=GZIP)
        assert response.status_code == 200
        assert "content-encoding" not in response.headers, url
    thumb = client.get("/profile/picture/1/thumb", headers=GZIP)
    assert thumb.status_code == 200 and "content-encoding" not in thumb.headers


# --- cache headers ---------------------------------------------------------------------------


def test_static_files_are_immutable_at_their_hash_and_revalidated_otherwise(
    client: TestClient[Any],
) -> None:
    css = one(client.get("/login").text, "link[rel=stylesheet]")["href"]
    assert "?v=" in css
    assert client.get(css).headers["cache-control"] == "public, max-age=31536000, immutable"
    bare = css.split("?")[0]
    assert client.get(bare).headers["cache-control"] == "no-cache"
    assert client.get(bare + "?v=0000").headers["cache-control"] == "no-cache"


def test_picture_files_stay_immutable(client: TestClient[Any], member: int) -> None:
    upload(client, jpeg())
    img = one(client.get("/profile").text, "main [data-avatar-size=lg] picture img")
    cache = client.get(img["src"]).headers["cache-control"]
    assert cache == "public, max-age=31536000, immutable"


def test_the_directory_has_a_weak_etag_and_may_be_stale_while_it_revalidates(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    first = client.get("/members")
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert first.headers["cache-control"] == PAGE
    assert "stale-while-revalidate=60" in PAGE and "private" in PAGE
    assert "cookie" in first.headers["vary"].lower()
    again = client.get("/members", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    api_upload(client, db, alice, "#208040")  # the page changes: so does its ETag
    changed = client.get("/members", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


def test_a_member_page_answers_304_to_its_etag(client: TestClient[Any], alice: int) -> None:
    etag = client.get("/members/alice").headers["etag"]
    assert client.get("/members/alice", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/members/nobody").headers.get("etag") is None  # a 404 is not held back


def test_an_avatar_fragment_without_a_version_may_be_stale_while_it_revalidates(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    response = client.get(f"/components/avatar/{alice}?size=sm")
    assert response.headers["cache-control"] == "public, max-age=0, stale-while-revalidate=60"
    version = profile_of(db, alice).picture_version
    versioned = client.get(f"/components/avatar/{alice}?size=sm&v={version}")
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"


# --- previews for versions from before migration 0008 --------------------------------------


def test_media_previews_gives_colour_only_versions_a_blurred_preview(
    client: TestClient[Any], db: Session, alice: int, settings: Settings
) -> None:
    api_upload(client, db, alice, "#c04010")
    picture = db.exec(select(ProfilePicture)).one()
    made_at_upload = picture.preview
    picture.preview = "data:image/svg+xml,%3Csvg%3E%3C/svg%3E"  # as migration 0008 left it
    db.add(picture)
    db.commit()

    result = ppsync(settings.var_dir, "media", "previews")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "1 previews made, 0 versions without their 48 px file"
    db.expire_all()
    remade = db.exec(select(ProfilePicture)).one().preview
    assert remade.startswith("data:image/webp;base64,")
    assert abs(len(remade) - len(made_at_upload)) < 40  # a preview like the upload's own
    again = ppsync(settings.var_dir, "media", "previews")
    assert again.stdout.splitlines()[-1] == "0 previews made, 0 versions without their 48 px file"


def test_media_previews_leaves_a_version_without_its_files_its_colour(
    client: TestClient[Any], db: Session, alice: int, settings: Settings
) -> None:
    api_upload(client, db, alice, "#c04010")
    picture = db.exec(select(ProfilePicture)).one()
    picture.preview = "data:image/svg+xml,%3Csvg%3E%3C/svg%3E"
    db.add(picture)
    db.commit()
    store = DiskStore(settings.media_root)
    for ext in ("webp", "jpg"):
        store.path(variant_key(alice, picture.filename, 48, ext)).unlink()

    result = ppsync(settings.var_dir, "media", "previews")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "0 previews made, 1 versions without their 48 px file"
    db.expire_all()
    assert db.exec(select(ProfilePicture)).one().preview.startswith("data:image/svg+xml,")
