"""AVIF copies for the versions that have none: made while AVIF_COPIES was off, or whose job
was lost when the process stopped before its turn (`ppsync avif backfill`).

A version lacks them when it is kept, not deleted, still, and its metadata has no AVIF record
(names.AVIF_META). Its `Wanted` is rebuilt from what is stored: the square cut again from its
master with its crop and its edits, by the pipeline that made it (imaging.recrop, in the cage),
and its stored WebPs to beat. A re-crop's square is then the very one its WebPs were encoded
from; an upload's is cut from its master (a JPEG at quality 90 for an opaque picture), a little
off the upload's own pixels, which are not kept. Each version is read in a short transaction of
its own, and `avif.add` writes it in another: safe beside the running servers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import Session, col, select

from db.models import ProfilePicture
from web.services import imaging
from web.services.imaging import cage
from web.services.imaging.avif import AVIF_PX
from web.services.pictures import avif, media_check, reads
from web.services.pictures.access import PictureError
from web.services.pictures.names import AVIF_META, variant_key
from web.services.pictures.storage import MediaStore


@dataclass(frozen=True, slots=True)
class Lacking:
    """A version with no AVIF record, as listed."""

    id: int
    user_id: int
    version: int


def lacking(session: Session, *, limit: int | None = None) -> list[Lacking]:
    """The versions that lack their AVIF copies, oldest first (at most `limit`)."""
    rows = session.exec(
        select(
            ProfilePicture.id,
            ProfilePicture.user_id,
            ProfilePicture.version,
            col(ProfilePicture.meta),
        )
        .where(col(ProfilePicture.purged_at).is_(None), col(ProfilePicture.deleted_at).is_(None))
        .order_by(col(ProfilePicture.id))
    )
    found = (
        Lacking(id_, user_id, version)
        for id_, user_id, version, meta in rows
        if _lacks(meta) and id_ is not None
    )
    listed = list(itertools.islice(found, limit))
    session.rollback()  # the read ends here: the versions are made one by one, each on its own
    return listed


def wanted(
    session: Session, store: MediaStore, row: Lacking, limits: imaging.Limits
) -> avif.Wanted | None:
    """The version's `Wanted`, rebuilt from its stored files; None when it no longer lacks
    them (deleted, purged, or given its copies since it was listed). The transaction that read
    it ends before the cage cuts the square. A missing master or crop is a PictureError."""
    picture = session.get(ProfilePicture, row.id, populate_existing=True)  # as it is now
    if picture is None or picture.purged_at or picture.deleted_at or not _lacks(picture.meta):
        session.rollback()
        return None
    session.expunge(picture)  # kept as read: the rollback would expire it
    session.rollback()  # nothing held while the cage works
    key, _mime = reads.master_key_of(store, picture)
    master, caged = store.read(key), _beside_servers(limits)
    crop = media_check.crop_of(picture, master, caged)
    if crop is None:
        raise PictureError(422, f"Version {picture.version}'s crop is not recorded.")
    edits = imaging.edits_of(picture.edits or ())
    square = cage.recrop(master, crop=crop, limits=caged, edits=edits).square
    if square is None:  # its record says still, its master is an animation
        raise PictureError(422, f"Version {picture.version}'s master is not a still picture.")
    return avif.Wanted(picture.user_id, picture.filename, square, dict(_webps(store, picture)))


def _beside_servers(limits: imaging.Limits) -> imaging.Limits:
    """The cage's pool for work beside the servers: one worker at nice 19, as the AVIF encodes."""
    return replace(limits, ceilings=cage.after_answer(limits.ceilings))


def _lacks(meta: dict[str, Any]) -> bool:
    """A still version's metadata without an AVIF record."""
    return AVIF_META not in meta and not meta.get("animated")


def _webps(store: MediaStore, picture: ProfilePicture) -> Iterator[tuple[int, bytes]]:
    """The stored still WebP variants at the AVIF sizes: what each AVIF must beat."""
    for v in picture.meta.get("variants", []):
        if v["ext"] == "webp" and not v.get("animated") and int(v["px"]) in AVIF_PX:
            px = int(v["px"])
            yield px, store.read(variant_key(picture.user_id, picture.filename, px, "webp"))
