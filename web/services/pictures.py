"""Profile pictures: upload, restore, delete and history. One change, one transaction.

Each change starts by taking the member's lock (change_lock), so one member's concurrent
changes are serialised; a residual conflict is a 409, never a 500. An upload's files are
written (atomically, under a name of their own) before the transaction commits and removed
again when it is known to have failed; when the commit's outcome is unknown (the connection
died during COMMIT) they stay for `ppsync media sweep`, which removes only unreferenced files.
The caller publishes the returned Change only after the commit.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from db.models import ProfilePicture, UserProfile
from db.types import utcnow
from web.services import audit, clamav, imaging
from web.services.audit import Actor
from web.services.change_lock import is_conflict, lock_member
from web.services.imaging.types import EXT_MIME
from web.services.media_names import PictureRef, files_path, master_key, new_name, picture_ref
from web.services.storage import MediaStore
from web.services.sync import Change, record_change

RETENTION = timedelta(days=30)
CONFLICT = "Another change to this picture came first; try again."
log = logging.getLogger("ppsync.pictures")


class PictureError(Exception):
    """A request about a version that cannot be met: HTTP status and a sentence for the member."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class HistoryItem:
    version: int
    picture: PictureRef
    original_name: str
    file_size: int
    width: int
    height: int
    uploaded: datetime
    is_active: bool
    animated: bool


def clean_name(raw: str) -> str:
    """The client's file name, for display only: no path, no control characters, bounded."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    return name.strip()[:120] or "picture"


def upload(
    session: Session,
    store: MediaStore,
    *,
    actor: Actor,
    user_id: int,
    data: bytes,
    original_name: str,
    crop: imaging.Crop | None = None,
    limits: imaging.Limits = imaging.DEFAULT_LIMITS,
    scan: Callable[[bytes], str | None] | None = None,
) -> Change:
    if scan is not None:
        _scan(scan, data, user_id)
    processed = imaging.process(data, crop=crop, limits=limits)
    return _keep(session, store, actor, user_id, processed, clean_name(original_name), len(data))


def recrop(
    session: Session,
    store: MediaStore,
    *,
    actor: Actor,
    user_id: int,
    version: int,
    crop: imaging.Crop | None,
) -> Change:
    """A new version cut from a kept version's master: no second upload needed."""
    source = _version(session, user_id, version)
    key, _mime = _master_key(store, source)
    processed = imaging.recrop(store.path(key).read_bytes(), crop=crop)
    return _keep(session, store, actor, user_id, processed, source.original_name, source.file_size)


def _keep(
    session: Session,
    store: MediaStore,
    actor: Actor,
    user_id: int,
    processed: imaging.Processed,
    name: str,
    size: int,
) -> Change:
    """Files first (atomic, this upload's own), then one transaction.

    No other version refers to these files before the commit, so removing them when the
    transaction is known to have failed never takes a kept version's files away.
    """
    filename = new_name()
    keys = store.write_processed(user_id, filename, processed)
    try:
        change = _stage_upload(session, actor, user_id, processed, filename, name, size)
    except BaseException:
        session.rollback()
        store.remove(keys)
        raise
    try:
        _commit(session)
    except PictureError:  # known to have rolled back
        store.remove(keys)
        raise
    except BaseException:
        log.warning(
            "commit of member %s's upload %s failed with an unknown outcome; "
            "its files stay for `ppsync media sweep`",
            user_id,
            filename,
        )
        raise
    return change


def master_of(
    session: Session, store: MediaStore, *, user_id: int, version: int
) -> tuple[str, str]:
    """The storage key and type of a version's private master, for its owner's re-crop page."""
    return _master_key(store, _version(session, user_id, version))


def _master_key(store: MediaStore, picture: ProfilePicture) -> tuple[str, str]:
    ext = str(picture.meta.get("master", {}).get("ext", "jpg"))
    key = master_key(picture.user_id, picture.filename, ext)
    if not store.exists(key):
        raise PictureError(404, f"Version {picture.version} has no master to re-crop from.")
    return key, EXT_MIME[ext]


def version_item(session: Session, *, user_id: int, version: int) -> HistoryItem:
    return _item(_version(session, user_id, version))


def _scan(scan: Callable[[bytes], str | None], data: bytes, user_id: int) -> None:
    """Refuse what the virus scanner flags, and refuse rather than store unscanned if it fails."""
    try:
        found = scan(data)
    except clamav.ScanFailed as error:
        log.warning("upload by member %s refused: virus scan failed: %s", user_id, error)
        raise imaging.rejected("scan_unavailable") from error
    if found is not None:
        log.warning("upload by member %s refused: virus scanner found %s", user_id, found)
        raise imaging.rejected("infected")


def _stage_upload(
    session: Session,
    actor: Actor,
    user_id: int,
    processed: imaging.Processed,
    filename: str,
    name: str,
    size: int,
) -> Change:
    with _change(session):
        lock_member(session, user_id)
        profile = _profile(session, user_id)
        picture = ProfilePicture(
            user_id=user_id,
            version=_next_version(session, user_id),
            filename=filename,
            original_name=name,
            file_path=files_path(user_id, filename),
            file_size=size,
            mime_type=f"image/{processed.source_format.lower()}",
            width=processed.source_width,
            height=processed.source_height,
            meta=_meta(processed),
        )
        session.add(picture)
        _activate(session, profile, picture)
        return _record(session, actor, picture, "picture.upload", "uploaded")


def restore(
    session: Session, *, actor: Actor, user_id: int, version: int, activate: bool = True
) -> Change | None:
    """Make a version the picture again (undeleting it); None when it already is."""
    with _change(session):
        lock_member(session, user_id)
        picture = _version(session, user_id, version)
        if picture.is_active and picture.deleted_at is None:
            session.rollback()  # nothing to change: let the lock go
            return None
        picture.deleted_at = None
        if activate:
            _activate(session, _profile(session, user_id), picture)
        action = "picture.restore" if activate else "picture.undelete"
        change = _record(session, actor, picture, action, "restored")
    _commit(session)
    return change


def delete(
    session: Session, *, actor: Actor, user_id: int, version: int | None = None
) -> tuple[Change, int, bool]:
    """Soft-delete a version (the active one by default): (change, version, was active)."""
    with _change(session):
        lock_member(session, user_id)
        picture = _version(session, user_id, version) if version else _active(session, user_id)
        if picture.deleted_at is not None:
            raise PictureError(409, f"Version {picture.version} is deleted already.")
        was_active = picture.is_active
        picture.deleted_at = utcnow()
        picture.is_active = False
        if was_active:
            _fall_back(session, _profile(session, user_id), picture)
        change = _record(session, actor, picture, "picture.delete", "deleted")
    _commit(session)
    return change, picture.version, was_active


def kept_versions(session: Session, user_id: int) -> list[ProfilePicture]:
    """The versions a member sees (not deleted), newest first."""
    rows = session.exec(
        select(ProfilePicture)
        .where(
            ProfilePicture.user_id == user_id,
            col(ProfilePicture.deleted_at).is_(None),
            col(ProfilePicture.purged_at).is_(None),
        )
        .order_by(col(ProfilePicture.version).desc())
    )
    return list(rows)


def history(session: Session, user_id: int) -> list[HistoryItem]:
    return [_item(picture) for picture in kept_versions(session, user_id)]


def _item(picture: ProfilePicture) -> HistoryItem:
    return HistoryItem(
        version=picture.version,
        picture=picture_ref(picture.user_id, picture.filename, picture.meta),
        original_name=picture.original_name,
        file_size=picture.file_size,
        width=picture.width,
        height=picture.height,
        uploaded=picture.upload_date,
        is_active=picture.is_active,
        animated=bool(picture.meta.get("animated")),
    )


def _profile(session: Session, user_id: int) -> UserProfile:
    profile = session.get(UserProfile, user_id, with_for_update=True)
    if profile is None:
        raise PictureError(404, "No such member.")
    return profile


def _next_version(session: Session, user_id: int) -> int:
    query = select(func.max(ProfilePicture.version)).where(ProfilePicture.user_id == user_id)
    return (session.exec(query).one() or 0) + 1


def _version(session: Session, user_id: int, version: int) -> ProfilePicture:
    picture = session.exec(
        select(ProfilePicture).where(
            ProfilePicture.user_id == user_id,
            ProfilePicture.version == version,
            col(ProfilePicture.purged_at).is_(None),
        )
    ).first()
    if picture is None:
        raise PictureError(404, f"There is no version {version} of your picture.")
    return picture


def _active(session: Session, user_id: int) -> ProfilePicture:
    picture = session.exec(
        select(ProfilePicture).where(
            ProfilePicture.user_id == user_id, col(ProfilePicture.is_active).is_(True)
        )
    ).first()
    if picture is None:
        raise PictureError(404, "You have no picture to delete.")
    return picture


def _activate(session: Session, profile: UserProfile, picture: ProfilePicture) -> None:
    for other in session.exec(
        select(ProfilePicture).where(
            ProfilePicture.user_id == profile.user_id, col(ProfilePicture.is_active).is_(True)
        )
    ):
        other.is_active = False
    picture.is_active = True
    session.flush()
    profile.active_picture_id = picture.id
    profile.profile_picture = picture.filename
    profile.profile_picture_path = picture.file_path


def _fall_back(session: Session, profile: UserProfile, gone: ProfilePicture) -> None:
    """The newest remaining version becomes the picture; none left means the default avatar."""
    previous = session.exec(
        select(ProfilePicture)
        .where(
            ProfilePicture.user_id == profile.user_id,
            ProfilePicture.id != gone.id,
            col(ProfilePicture.deleted_at).is_(None),
            col(ProfilePicture.purged_at).is_(None),
        )
        .order_by(col(ProfilePicture.version).desc())
    ).first()
    if previous is not None:
        _activate(session, profile, previous)
        return
    profile.active_picture_id = None
    profile.profile_picture = None
    profile.profile_picture_path = None


def _record(
    session: Session, actor: Actor, picture: ProfilePicture, action: str, kind: str
) -> Change:
    """Audit the change and record its sync event: one change, one transaction."""
    audit.record(
        session,
        actor=actor,
        action=action,
        outcome="ok",
        subject_id=picture.user_id,
        picture_id=picture.id,
        detail=f"version {picture.version}",
    )
    change = record_change(session, user_id=picture.user_id, kind=kind)
    session.flush()
    return change


@contextmanager
def _change(session: Session) -> Iterator[None]:
    """Before the commit: any failure rolls back (letting the lock go), and a concurrent change
    that got in the way is a 409."""
    try:
        yield
    except BaseException as error:
        session.rollback()
        if isinstance(error, DBAPIError) and is_conflict(error):
            raise PictureError(409, CONFLICT) from error
        raise


def _commit(session: Session) -> None:
    """COMMIT. A conflict is a 409 (known rolled back); anything else is raised as it is."""
    try:
        session.commit()
    except BaseException as error:
        session.rollback()
        if isinstance(error, DBAPIError) and is_conflict(error):
            raise PictureError(409, CONFLICT) from error
        raise


def _meta(processed: imaging.Processed) -> dict[str, Any]:
    return {
        "source_format": processed.source_format,
        "original_size": [processed.source_width, processed.source_height],
        "orientation_applied": processed.orientation_applied,
        "animated": processed.animated,
        "has_alpha": processed.has_alpha,
        "placeholder": processed.placeholder,
        "master": {"ext": processed.master.ext, "bytes": len(processed.master.data)},
        "crop": [processed.crop.x, processed.crop.y, processed.crop.size],
        "variants": [
            {"px": v.px, "ext": v.ext, "bytes": len(v.data), "animated": v.animated}
            for v in processed.variants
        ],
    }


def media_status(session: Session, user_id: int, digest: str) -> str | None:
    """ "live" when a kept version uses these files, "gone" when only deleted ones did."""
    rows = session.exec(
        select(ProfilePicture.deleted_at, ProfilePicture.purged_at).where(
            ProfilePicture.user_id == user_id, ProfilePicture.filename == digest
        )
    ).all()
    if any(deleted is None and purged is None for deleted, purged in rows):
        return "live"
    return "gone" if rows else None
