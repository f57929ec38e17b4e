"""What there is to see of a member's picture: its state, its versions, whether a copy is stale.

Plain data for pages and for the API, which shapes its own bodies from it (web/api/bodies.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from db.models import ProfilePicture, User, UserProfile, is_id
from db.types import utcnow
from web.services.audit import Actor
from web.services.imaging.types import EXT_MIME
from web.services.pictures.access import PictureError, authorise
from web.services.pictures.avatars import colour, initials
from web.services.pictures.names import PictureRef, master_key, picture_ref
from web.services.pictures.periods import RETENTION
from web.services.pictures.storage import MediaStore
from web.services.sync import confirm_current


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
    crop: tuple[float, float, float] | None = None  # left, top, side: the square it was cut to
    recrop_of: int | None = None  # the version a re-crop was cut from (None: an upload)
    edits: tuple[str, ...] = ()  # the edits applied to its variants (imaging/edits.py labels)


@dataclass(frozen=True, slots=True)
class DeletedItem:
    """A version the member deleted, restorable until `purge_after`."""

    version: int
    picture: PictureRef
    deleted: datetime
    purge_after: datetime
    kept_days: int


@dataclass(frozen=True, slots=True)
class PictureState:
    """A member's current picture (None: the default avatar, initials on a colour).
    `picture_version` goes up on every change; it is what the live events carry."""

    user_id: int
    version: int | None
    picture: PictureRef | None
    initials: str
    colour: str
    picture_version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SyncCheck:
    stale: bool
    current: PictureState
    synced_at: datetime


def state(session: Session, user_id: int) -> PictureState:
    row = session.exec(
        select(User, UserProfile, ProfilePicture)
        .join(UserProfile, col(UserProfile.user_id) == col(User.id))
        .join(
            ProfilePicture,
            col(ProfilePicture.id) == col(UserProfile.active_picture_id),
            isouter=True,
        )
        .where(User.id == user_id)
    ).first()
    if row is None:
        raise PictureError(404, f"There is no member {user_id}.")
    user, profile, picture = row
    return PictureState(
        user_id=user_id,
        version=picture.version if picture else None,
        picture=picture_ref(user_id, picture.filename, picture.meta, picture.preview)
        if picture
        else None,
        initials=initials(user.display_name),
        colour=colour(user_id),
        picture_version=profile.picture_version,
        updated_at=profile.updated_at,
    )


def read(session: Session, *, actor: Actor, user_id: int) -> PictureState:
    authorise(session, actor=actor, user_id=user_id, action="api.picture.read")
    return state(session, user_id)


def read_history(session: Session, *, actor: Actor, user_id: int) -> list[HistoryItem]:
    authorise(session, actor=actor, user_id=user_id, action="api.history.read")
    return history(session, user_id)


def sync(
    session: Session, *, actor: Actor, user_id: int, name: str | None, seen: datetime
) -> SyncCheck:
    """Is a copy showing `name` (None: the default avatar) as of `seen` still current? Notes
    the member's sync."""
    authorise(session, actor=actor, user_id=user_id, action="api.picture.sync")
    current = state(session, user_id)
    shown = current.picture.name if current.picture else None
    stale = name != shown or seen < current.updated_at
    now = utcnow()
    confirm_current(session, user_id=user_id, now=now)
    return SyncCheck(stale=stale, current=current, synced_at=now)


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


def current_meta(session: Session, user_id: int) -> dict[str, Any] | None:
    """The metadata of the member's current picture (None: the default avatar)."""
    meta = session.scalar(
        select(ProfilePicture.meta).where(
            ProfilePicture.user_id == user_id, col(ProfilePicture.is_active)
        )
    )
    return dict(meta) if meta is not None else None


def deleted(session: Session, user_id: int, *, now: datetime | None = None) -> list[DeletedItem]:
    """The member's deleted versions still within the retention window, last deleted first."""
    cutoff = (now or utcnow()) - RETENTION
    rows = session.exec(
        select(ProfilePicture)
        .where(
            ProfilePicture.user_id == user_id,
            col(ProfilePicture.deleted_at) >= cutoff,
            col(ProfilePicture.purged_at).is_(None),
        )
        .order_by(col(ProfilePicture.deleted_at).desc(), col(ProfilePicture.version).desc())
    )
    return [
        DeletedItem(
            version=picture.version,
            picture=picture_ref(
                user_id, picture.filename, picture.meta, picture.preview, animate=False
            ),
            deleted=picture.deleted_at,
            purge_after=picture.deleted_at + RETENTION,
            kept_days=RETENTION.days,
        )
        for picture in rows
        if picture.deleted_at is not None
    ]


def version_item(session: Session, *, user_id: int, version: int) -> HistoryItem:
    return _item(version_row(session, user_id, version))


def version_row(session: Session, user_id: int, version: int) -> ProfilePicture:
    # A number past the column's range (from a form, or the command line) names no version.
    picture = _kept_version(session, user_id, version) if is_id(version) else None
    if picture is None:
        raise PictureError(404, f"There is no version {version} of your picture.")
    return picture


def _kept_version(session: Session, user_id: int, version: int) -> ProfilePicture | None:
    return session.exec(
        select(ProfilePicture).where(
            ProfilePicture.user_id == user_id,
            ProfilePicture.version == version,
            col(ProfilePicture.purged_at).is_(None),
        )
    ).first()


def master_of(
    session: Session, store: MediaStore, *, user_id: int, version: int
) -> tuple[str, str]:
    """The storage key and type of a version's private master, for its owner's re-crop page."""
    return master_key_of(store, version_row(session, user_id, version))


def master_key_of(store: MediaStore, picture: ProfilePicture) -> tuple[str, str]:
    ext = str(picture.meta.get("master", {}).get("ext", "jpg"))
    key = master_key(picture.user_id, picture.filename, ext)
    if not store.exists(key):
        raise PictureError(404, f"Version {picture.version} has no master to re-crop from.")
    return key, EXT_MIME[ext]


def own_variant_of(
    session: Session, store: MediaStore, *, user_id: int, version: int, px: int
) -> tuple[str, str]:
    """The storage key and type of the still variant at px of one of the member's versions,
    deleted or not (until purged): a deleted version's files are served to no one else."""
    picture = version_row(session, user_id, version)
    ref = picture_ref(user_id, picture.filename, picture.meta, picture.preview, animate=False)
    key = ref.key(px)
    if not store.exists(key):
        raise PictureError(404, f"Version {version} has no {px} px picture.")
    return key, EXT_MIME[ref.fallback_ext]


def media_status(session: Session, user_id: int, name: str) -> str | None:
    """ "live" when a kept version uses these files, "gone" when only deleted ones did."""
    rows = session.exec(
        select(ProfilePicture.deleted_at, ProfilePicture.purged_at).where(
            ProfilePicture.user_id == user_id, ProfilePicture.filename == name
        )
    ).all()
    if any(deleted is None and purged is None for deleted, purged in rows):
        return "live"
    return "gone" if rows else None


def _item(picture: ProfilePicture) -> HistoryItem:
    return HistoryItem(
        version=picture.version,
        picture=picture_ref(picture.user_id, picture.filename, picture.meta, picture.preview),
        original_name=picture.original_name,
        file_size=picture.file_size,
        width=picture.width,
        height=picture.height,
        uploaded=picture.upload_date,
        is_active=picture.is_active,
        animated=bool(picture.meta.get("animated")),
        crop=_crop_of(picture.meta),
        recrop_of=picture.recrop_of,
        edits=tuple(picture.edits or ()),
    )


def _crop_of(meta: dict[str, Any]) -> tuple[float, float, float] | None:
    crop = meta.get("crop")
    if not isinstance(crop, list) or len(crop) != 3:
        return None
    return float(crop[0]), float(crop[1]), float(crop[2])
