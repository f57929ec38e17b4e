"""AVIF copies (issue 25): made after the upload's answer, kept only at the sizes where they are
smaller than the WebP at equal quality, served like every variant, and offered by the avatar's
<picture> only for the versions and sizes that have them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from PIL import Image
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests.forms import upload
from tests.html import one, parse
from web.services import imaging
from web.services.imaging import encode
from web.services.imaging.avif import AVIF_PX, avif_variants, psnr
from web.services.pictures.names import AVIF_META, variant_key
from web.services.pictures.storage import DiskStore

PHOTO = (Path(__file__).parents[1] / "fixtures" / "pillow_hopper.jpg").read_bytes()


def made_from(data: bytes, *, lossless: bool = False) -> tuple[dict[int, bytes], dict[int, bytes]]:
    """(the WebPs, the AVIFs kept) of a picture's still variants; with lossless, WebPs of the
    very squares, which no lossy AVIF can match."""
    processed = imaging.process(data)
    square = processed.square
    assert square is not None
    webps = {v.px: v.data for v in processed.variants if v.ext == "webp"}
    if lossless:
        top = Image.frombytes(square.mode, (square.side, square.side), square.pixels)
        squares = encode.squares(top, (0, 0, square.side, square.side), sorted(webps))
        webps = {px: encode.encode(im, "webp", lossless=True) for px, im in squares.items()}
    return webps, avif_variants(square.pixels, mode=square.mode, side=square.side, webps=webps)


def flat_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 400), (32, 96, 192)).save(out, "PNG")
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def test_an_avif_is_kept_only_where_it_is_smaller_than_the_webp_at_equal_quality() -> None:
    webps, avifs = made_from(PHOTO)
    assert set(avifs) <= set(AVIF_PX) and 384 in avifs
    source = decoded(webps[384])  # what both are measured against: near the square itself
    for px, avif in avifs.items():
        assert Image.open(io.BytesIO(avif)).format == "AVIF"
        assert len(avif) < len(webps[px])
        square = source.resize((px, px)) if px != 384 else source
        assert psnr(square, decoded(avif)) > 30


def test_a_flat_picture_keeps_its_webps_alone() -> None:
    """A flat colour's WebP is a hundred bytes or so: AVIF's headers alone cost more."""
    _, avifs = made_from(flat_png())
    assert avifs == {}


def test_no_avif_is_kept_where_it_cannot_reach_the_webps_quality() -> None:
    _, avifs = made_from(PHOTO, lossless=True)
    assert avifs == {}


def test_an_animation_asks_for_no_avif() -> None:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert imaging.process(out.getvalue()).square is None


def kept_row(db: Session) -> ProfilePicture:
    db.expire_all()
    return db.exec(select(ProfilePicture)).one()


@pytest.mark.avif_copies
def test_an_upload_gets_its_avifs_after_the_answer_and_its_avatar_offers_them(
    app: Litestar, client: TestClient[Any], db: Session, member: int
) -> None:
    assert upload(client, PHOTO).status_code == 303
    app.state["followups"].settle()
    row = kept_row(db)
    kept = row.meta[AVIF_META]
    assert {192, 384} <= set(kept) <= set(AVIF_PX)
    store = DiskStore(app.state["settings"].media_root)
    assert all(store.exists(variant_key(member, row.filename, px, "avif")) for px in kept)
    page = client.get("/profile").text
    main = one(page, "main [data-avatar-size=lg]")
    avif, webp = (
        one(str(main), "source[type='image/avif']"),
        one(str(main), "source[type='image/webp']"),
    )
    # The first source a browser can decode is the one it takes.
    assert [source["type"] for source in main.select("picture source")] == [
        "image/avif",
        "image/webp",
    ]
    assert avif["sizes"] == webp["sizes"]
    offered = dict(reversed(c.split()) for c in avif["srcset"].split(", "))
    assert set(offered) == {"96w", "192w", "384w"}
    for width, url in offered.items():
        px = int(width[:-1])
        assert url.endswith(f"-{px}.avif" if px in kept else f"-{px}.webp")
    # The header's sizes (24 to 48 px) have none: no AVIF source there.
    assert parse(page).select("header [data-avatar-size=xs] source[type='image/avif']") == []
    file = client.get(offered["384w"])
    assert file.status_code == 200 and file.headers["content-type"] == "image/avif"
    assert file.headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.avif_copies
def test_a_version_whose_avifs_would_be_larger_offers_none(
    app: Litestar, client: TestClient[Any], db: Session, member: int
) -> None:
    assert upload(client, flat_png(), "flat.png").status_code == 303
    app.state["followups"].settle()
    assert kept_row(db).meta[AVIF_META] == []
    assert parse(client.get("/profile").text).select("source[type='image/avif']") == []


def test_with_avif_copies_off_an_upload_hands_nothing_on(
    app: Litestar, client: TestClient[Any], db: Session, member: int
) -> None:
    """AVIF_COPIES=off (the unit settings' default, as the test suites run): no AVIF work."""
    assert app.state["settings"].avif_copies is False
    assert upload(client, PHOTO).status_code == 303
    app.state["followups"].settle()
    assert AVIF_META not in kept_row(db).meta
    assert parse(client.get("/profile").text).select("source[type='image/avif']") == []
