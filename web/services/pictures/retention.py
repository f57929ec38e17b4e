"""Housekeeping: purge versions deleted longer ago than the retention window, sweep orphans."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from db.models import ProfilePicture
from db.types import utcnow
from web.services import audit
from web.services.pictures.names import owner_of
from web.services.pictures.storage import MediaStore

# A file younger than this may belong to an upload whose transaction has not committed yet.
SWEEP_GRACE_SECONDS = 3600
RETENTION = timedelta(days=30)  # a deleted version is kept this long for Undo


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
    store.remove(key for key in _all_keys(store, owners) if owner_of(key) in doomed)
    return len(expired)


def sweep(
    session: Session, store: MediaStore, *, grace_seconds: float = SWEEP_GRACE_SECONDS
) -> list[str]:
    """Remove files no kept version refers to (crashed uploads, leftovers); the keys removed.

    Files younger than the grace are left: an operator sweeping right after a crash, with no
    server running, may pass 0.
    """
    cutoff = time.time() - grace_seconds
    orphans = [key for key in orphan_keys(session, store) if _mtime(store, key) < cutoff]
    store.remove(orphans)
    return orphans


def orphan_keys(session: Session, store: MediaStore) -> list[str]:
    """Every stored key (temporary leftovers too) that no kept version refers to."""
    kept = kept_files(session)
    return [key for key in _all_keys(store) if owner_of(key) not in kept]


def _mtime(store: MediaStore, key: str) -> float:
    try:
        return store.path(key).stat().st_mtime
    except FileNotFoundError:  # removed meanwhile (a concurrent purge or sweep)
        return float("inf")


def kept_files(session: Session) -> set[tuple[int, str]]:
    """(member, file name) of every version not purged: deleted ones are kept for Undo."""
    rows = session.exec(
        select(ProfilePicture.user_id, ProfilePicture.filename).where(
            col(ProfilePicture.purged_at).is_(None)
        )
    )
    return set(rows)


def _all_keys(store: MediaStore, owners: set[int] | None = None) -> list[str]:
    """Every stored key, or only those of the given members."""
    folders = ["avatars", "masters"]
    if owners is not None:
        folders = [f"{folder}/{user_id}" for folder in folders for user_id in sorted(owners)]
    return [key for folder in folders for key in store.keys_under(folder)]
