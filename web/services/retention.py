"""Housekeeping: purge versions deleted longer ago than the retention window, sweep orphans."""

from __future__ import annotations

import time
from datetime import datetime

from sqlmodel import Session, col, select

from db.models import ProfilePicture
from db.types import utcnow
from web.services import audit
from web.services.pictures import RETENTION
from web.services.storage import MediaStore

# A file younger than this may belong to an upload whose transaction has not committed yet.
SWEEP_GRACE_SECONDS = 3600


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
    doomed = {(p.user_id, p.filename) for p in expired} - _kept_files(session)
    session.commit()
    # Only the folders of members who lost files are walked, not the whole media tree.
    owners = {user_id for user_id, _ in doomed}
    store.remove(key for key in _all_keys(store, owners) if _owner(key) in doomed)
    return len(expired)


def sweep(session: Session, store: MediaStore) -> list[str]:
    """Remove files no kept version refers to (crashed uploads, leftovers); the keys removed."""
    kept = _kept_files(session)
    cutoff = time.time() - SWEEP_GRACE_SECONDS
    orphans = [
        key
        for key in _all_keys(store)
        if _owner(key) not in kept and store.path(key).stat().st_mtime < cutoff
    ]
    store.remove(orphans)
    return orphans


def _kept_files(session: Session) -> set[tuple[int, str]]:
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


def _owner(key: str) -> tuple[int, str] | None:
    """(user id, digest) from "avatars/42/<digest>-96.webp" or "masters/42/<digest>.webp"."""
    parts = key.split("/")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2][:32]
