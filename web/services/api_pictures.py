"""The JSON API's reads: a member's picture (or default avatar) and history, and the sync check.

Each first checks that the token may act for the member (see api_access).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from db.models import ProfilePicture, User, UserProfile
from db.types import utcnow
from web.api_views import (
    DefaultAvatar,
    History,
    HistoryEntry,
    PictureState,
    PictureUrls,
    SizeUrls,
    SyncAnswer,
)
from web.services import pictures
from web.services.api_access import PictureError, authorise
from web.services.api_auth import ApiCaller
from web.services.media_names import picture_ref
from web.services.sync import confirm_current
from web.views import SIZES, Avatar


def picture_state(session: Session, user_id: int) -> PictureState:
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
    initials = Avatar(user_id, user.display_name, 0, None)
    return PictureState(
        user_id=str(user_id),
        version=picture.version if picture else None,
        filename=picture.filename if picture else None,
        urls=urls_of(picture) if picture else None,
        default_avatar=DefaultAvatar(initials=initials.initials, colour=initials.colour),
        picture_version=profile.picture_version,
        updated_at=profile.updated_at,
    )


def urls_of(picture: ProfilePicture) -> PictureUrls:
    ref = picture_ref(picture.user_id, picture.filename, picture.meta)

    def size(px: int) -> SizeUrls:
        return SizeUrls(
            x1=ref.url(px),
            x2=ref.url(px * 2),
            webp1x=ref.url(px, "webp"),
            webp2x=ref.url(px * 2, "webp"),
        )

    return PictureUrls(**{name: size(px) for name, px in SIZES.items()})


def get_picture(session: Session, *, caller: ApiCaller, user_id: int) -> PictureState:
    authorise(session, caller=caller, user_id=user_id, action="api.picture.read")
    return picture_state(session, user_id)


def get_history(session: Session, *, caller: ApiCaller, user_id: int) -> History:
    authorise(session, caller=caller, user_id=user_id, action="api.history.read")
    versions = [_entry(picture) for picture in pictures.kept_versions(session, user_id)]
    return History(user_id=str(user_id), versions=versions)


def _entry(picture: ProfilePicture) -> HistoryEntry:
    return HistoryEntry(
        version=picture.version,
        filename=picture.filename,
        original_name=picture.original_name,
        file_size=picture.file_size,
        width=picture.width,
        height=picture.height,
        uploaded_at=picture.upload_date,
        is_active=picture.is_active,
        animated=bool(picture.meta.get("animated")),
        urls=urls_of(picture),
    )


def sync(
    session: Session,
    *,
    caller: ApiCaller,
    user_id: int,
    filename: str | None,
    synced: datetime,
) -> SyncAnswer:
    """Is the caller's picture (as of `synced`) still current? Notes the member's sync."""
    authorise(session, caller=caller, user_id=user_id, action="api.picture.sync")
    current = picture_state(session, user_id)
    stale = filename != current.filename or synced < current.updated_at
    now = utcnow()
    confirm_current(session, user_id=user_id, now=now)
    session.commit()
    return SyncAnswer(stale=stale, current=current, synced_at=now)
