"""A new version's AVIF copies, made after the upload's answer.

An upload (or a re-crop) notes what its AVIF copies need (`Wanted`: the largest square's
pixels and the WebPs to beat) on its session; once its transaction commits, the app hands the
note to a background thread (web/followups.py), which calls `add`: the AVIF encodes run in the
cage (imaging/avif.py: one per size where it is smaller than the WebP at equal quality), the
files are written to the store (disk or bucket, like every other file of the version), then the
sizes that have one are recorded in the version's metadata (names.AVIF_META), which is what
pages read to offer them. A version with no record (older ones, made with AVIF_COPIES off, or
a process that stopped before its turn) has none: its WebP is served as before, until
`ppsync avif backfill` (avif_backfill.py) rebuilds its `Wanted` and calls `add`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from db.models import ProfilePicture
from web.services import imaging
from web.services.commits import Followup, note_followup
from web.services.imaging import cage
from web.services.imaging.avif import AVIF_PX
from web.services.imaging.types import Square
from web.services.pictures.names import AVIF_META, variant_key
from web.services.pictures.storage import MediaStore


@dataclass(frozen=True, slots=True)
class Wanted(Followup):
    """What one version's AVIF copies are made from."""

    user_id: int
    name: str
    square: Square
    webps: dict[int, bytes]  # by px: the WebP variants each AVIF must beat


def note(session: Session, user_id: int, name: str, processed: imaging.Processed) -> None:
    """Ask for the version's AVIF copies once its transaction commits (a still picture's only)."""
    if processed.square is None:
        return
    webps = {
        v.px: v.data
        for v in processed.variants
        if v.ext == "webp" and not v.animated and v.px in AVIF_PX
    }
    note_followup(session, Wanted(user_id, name, processed.square, webps))


def add(
    session: Session, store: MediaStore, wanted: Wanted, ceilings: imaging.Ceilings
) -> tuple[int, ...] | None:
    """Encode, write and record the version's AVIF copies: the sizes that have one, or None
    when the version is gone (purged) or has its copies already (another process's followup,
    or `ppsync avif backfill`, made them meanwhile: theirs stand, no file is written twice)."""
    made = cage.avif(wanted.square, webps=wanted.webps, ceilings=ceilings)
    cage.idle()  # the writes and the commit, too, between uploads rather than beside one
    picture = session.exec(
        select(ProfilePicture)
        .where(ProfilePicture.user_id == wanted.user_id, ProfilePicture.filename == wanted.name)
        .with_for_update()  # PostgreSQL: a second maker waits here, then sees the first's record
    ).first()
    if picture is None or picture.purged_at is not None or AVIF_META in picture.meta:
        session.rollback()
        return None
    store.write(
        [(variant_key(wanted.user_id, wanted.name, px, "avif"), made[px]) for px in sorted(made)]
    )
    picture.meta = picture.meta | {AVIF_META: sorted(made)}  # a new dict: the change is seen
    session.add(picture)
    session.commit()
    return tuple(sorted(made))
