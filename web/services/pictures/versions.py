"""The rules of the version rows every change follows: one member's changes one at a time, the
next version number, which version is active, and one audited, recorded transaction per change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from db.models import ProfilePicture, UserProfile
from web.services import audit
from web.services.audit import Actor
from web.services.commits import Change
from web.services.pictures.access import PictureError
from web.services.pictures.lock import is_conflict, lock_member
from web.services.sync import record_change

CONFLICT = "Another change to this picture came first; try again."


@contextmanager
def staged(session: Session, user_id: int) -> Iterator[UserProfile]:
    """A change's transaction up to its commit: the member's lock first, then the work. Any
    failure rolls back (letting the lock go); a concurrent change in the way is a 409."""
    with _rolled_back_on_failure(session):
        lock_member(session, user_id)
        profile = session.get(UserProfile, user_id, with_for_update=True)
        if profile is None:
            raise PictureError(404, "No such member.")
        yield profile


def commit(session: Session) -> None:
    """COMMIT. A conflict is a 409 (known rolled back); anything else is raised as it is."""
    with _rolled_back_on_failure(session):
        session.commit()


@contextmanager
def _rolled_back_on_failure(session: Session) -> Iterator[None]:
    """Anything raised inside rolls the session back; a conflict is raised as a 409."""
    try:
        yield
    except BaseException as error:
        session.rollback()
        if isinstance(error, DBAPIError) and is_conflict(error):
            raise PictureError(409, CONFLICT) from error
        raise


def next_version(session: Session, user_id: int) -> int:
    query = select(func.max(ProfilePicture.version)).where(ProfilePicture.user_id == user_id)
    return (session.exec(query).one() or 0) + 1


def active(session: Session, user_id: int) -> ProfilePicture | None:
    return session.exec(
        select(ProfilePicture).where(
            ProfilePicture.user_id == user_id, col(ProfilePicture.is_active).is_(True)
        )
    ).first()


def activate(session: Session, profile: UserProfile, picture: ProfilePicture) -> None:
    _none_active(session, profile.user_id)
    picture.is_active = True
    session.flush()
    profile.active_picture_id = picture.id
    profile.profile_picture = picture.filename
    profile.profile_picture_path = picture.file_path


def fall_back(session: Session, profile: UserProfile, gone: ProfilePicture) -> None:
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
        activate(session, profile, previous)
        return
    deactivate(session, profile)


def deactivate(session: Session, profile: UserProfile) -> None:
    """No version is the picture: the default avatar (initials) shows."""
    _none_active(session, profile.user_id)
    profile.active_picture_id = None
    profile.profile_picture = None
    profile.profile_picture_path = None


def _none_active(session: Session, user_id: int) -> None:
    for other in session.exec(
        select(ProfilePicture).where(
            ProfilePicture.user_id == user_id, col(ProfilePicture.is_active).is_(True)
        )
    ):
        other.is_active = False


def record(
    session: Session, actor: Actor, picture: ProfilePicture, action: str, kind: str
) -> Change:
    """Audit the change and record its sync event, in the change's transaction (inside
    `staged`, which holds the member's lock)."""
    audit.record(
        session,
        actor=actor,
        action=action,
        outcome="ok",
        subject_id=picture.user_id,
        picture_id=picture.id,
        detail=f"version {picture.version}",
    )
    change = record_change(session, user_id=picture.user_id, kind=kind, locked=True)
    session.flush()
    return change
