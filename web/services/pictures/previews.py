"""Blurred previews for the versions made before there were any (migration 0008 gave them their
average colour): `ppsync media previews`, made from each version's own stored 48 px WebP, a
file the pipeline wrote (not an upload's bytes), so it is decoded here and not in the cage.

A page shows the new preview once the member's cached avatar is dropped (their next change, or a
restart); a fragment a browser cached for that version keeps the colour.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image
from sqlmodel import Session, col, select

from db.models import ProfilePicture
from web.services.imaging.encode import preview
from web.services.pictures.names import preview_uri, variant_key
from web.services.pictures.storage import MediaStore

SOURCE_PX = 48  # every still version has it; larger than the preview, cheap to read
COLOUR_ONLY = "data:image/svg+xml,"  # what migration 0008 wrote


@dataclass(slots=True)
class Done:
    made: int = 0
    missing: list[str] = field(default_factory=list)  # keys of 48 px files not in the store


def refresh(session: Session, store: MediaStore) -> Done:
    done = Done()
    rows = session.exec(
        select(ProfilePicture).where(
            col(ProfilePicture.purged_at).is_(None),
            col(ProfilePicture.preview).startswith(COLOUR_ONLY),
        )
    )
    for picture in rows:
        alpha = bool(picture.meta.get("has_alpha"))
        data = _source(store, picture, alpha)
        if data is None:
            done.missing.append(variant_key(picture.user_id, picture.filename, SOURCE_PX, "webp"))
            continue
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            picture.preview = preview_uri(preview(im, alpha))
        session.add(picture)
        done.made += 1
    session.commit()
    return done


def _source(store: MediaStore, picture: ProfilePicture, alpha: bool) -> bytes | None:
    """The version's 48 px WebP, else its JPEG or PNG (an animation's still may be only that)."""
    for ext in ("webp", "png" if alpha else "jpg"):
        try:
            return store.read(variant_key(picture.user_id, picture.filename, SOURCE_PX, ext))
        except FileNotFoundError:
            continue
    return None
