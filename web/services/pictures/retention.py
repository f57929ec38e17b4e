"""Housekeeping: purge versions deleted longer ago than the retention window, sweep orphans."""

from __future__ import annotations

import time
from datetime import datetime

from sqlmodel import Session, col, select

from db.models import ProfilePicture
from db.types import utcnow
from web.services import audit
from web.services.pictures.names import FOLDERS, owner_of
from web.services.pictures.periods import RETENTION, SWEEP_GRACE_SECONDS
from web.services.pictures.storage import MediaStore, Stored


def purge(session: Session, store: MediaStore, *, now: datetime | None = None) -> int:
    """Mark versions deleted before the window as purged and remove their files; the count."""
    now = now or utcnow()
    expired = session.exec(
        select(ProfilePicture).where(
            col(ProfilePicture.deleted_at) < now - RETENTION,
            col(ProfilePicture.purged_at).is_(None),
        )
    ).all()
    for picture in expired:
        picture.purged_at = now
        audit.record(
            session,
            actor=audit.Actor(user_id=None),
            action="picture.purge",
            outcome="ok",
            subject_id=picture.user_id,
            picture_id=picture.id,
            detail=f"version {picture.version}",
        )
    session.flush()
    doomed = {(p.user_id, p.filename) for p in expired} - kept_files(session)
    session.commit()
    # Only the folders of members who lost files are walked, not the whole media tree.
    owners = {user_id for user_id, _ in doomed}
    store.remove(item.key for item in _all_files(store, owners) if owner_of(item.key) in doomed)
    return len(expired)


def sweep(
    session: Session, store: MediaStore, *, grace_seconds: float = SWEEP_GRACE_SECONDS
) -> list[str]:
    """Remove files no kept version refers to (crashed uploads, leftovers); the keys removed.

    Files younger than the grace are left: an operator sweeping right after a crash, with no
    server running, may pass 0.
    """
    cutoff = time.time() - grace_seconds
    orphans = [item.key for item in _orphans(session, store) if item.modified < cutoff]
    store.remove(orphans)
    return orphans


def orphan_keys(session: Session, store: MediaStore) -> list[str]:
    """Every stored key (temporary leftovers too) that no kept version refers to."""
    return [item.key for item in _orphans(session, store)]


def _orphans(session: Session, store: MediaStore) -> list[Stored]:
    kept = kept_files(session)
    return [item for item in _all_files(store) if owner_of(item.key) not in kept]


def kept_files(session: Session) -> set[tuple[int, str]]:
    """(member, file name) of every version not purged: deleted ones are kept for Undo."""
    rows = session.exec(
        select(ProfilePicture.user_id, ProfilePicture.filename).where(
            col(ProfilePicture.purged_at).is_(None)
        )
    )
    return set(rows)


def _all_files(store: MediaStore, owners: set[int] | None = None) -> list[Stored]:
    """Every stored file (a listing of the store), or only those of the given members."""
    folders = list(FOLDERS)
    if owners is not None:
        folders = [f"{folder}/{user_id}" for folder in folders for user_id in sorted(owners)]
    return [item for folder in folders for item in store.keys_under(folder)]
