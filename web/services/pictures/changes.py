"""Changes to the kept versions, each with its own name and one meaning:

- restore: a deleted version back into the history; the current picture stays as it is;
- use: make a version the picture ("Use this picture"; a deleted one is brought back first);
- remove: no picture at all, the initials again; every version stays in the history;
- delete: a version out of the history (kept for Undo until it is purged).

Undo is one of these too: the exact inverse of the action it undoes (web/routes/profile.py).
One change, one transaction; its commit tells the session's subscribers (the live hub, the
read cache: web/services/commits.py) of the returned Change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from db.models import ProfilePicture, UserProfile
from db.types import utcnow
from web.services.audit import Actor
from web.services.commits import Change
from web.services.pictures import reads, versions
from web.services.pictures.access import PictureError, authorise, refusals_audited


class StaleUpdate(PictureError):
    """The picture changed after the caller's `seen`: `current` is what it is now."""

    def __init__(self, current: reads.PictureState) -> None:
        super().__init__(409, "stale updatedAt")  # the audit detail; the API says more
        self.current = current


@dataclass(frozen=True, slots=True)
class Deleted:
    change: Change
    version: int
    was_active: bool


@dataclass(frozen=True, slots=True)
class Removed:
    """`version`: the picture that was current (None: there was none, nothing changed)."""

    change: Change | None
    version: int | None


def restore(session: Session, *, actor: Actor, user_id: int, version: int) -> Change | None:
    """Bring a deleted version back into the history; None when it is not deleted. Never
    changes which version is the picture."""
    authorise(session, actor=actor, user_id=user_id, action="picture.restore")
    with refusals_audited(session, actor=actor, action="picture.restore", user_id=user_id):
        with versions.staged(session, user_id):
            picture = reads.version_row(session, user_id, version)
            if picture.deleted_at is None:
                session.rollback()  # nothing to change: let the lock go
                return None
            picture.deleted_at = None
            change = versions.record(session, actor, picture, "picture.restore", "restored")
        versions.commit(session)
    return change


def use(session: Session, *, actor: Actor, user_id: int, version: int) -> Change | None:
    """Make a version the picture ("Use this picture"), bringing it back first if it was
    deleted; None when it is the picture already."""
    authorise(session, actor=actor, user_id=user_id, action="picture.use")
    with refusals_audited(session, actor=actor, action="picture.use", user_id=user_id):
        with versions.staged(session, user_id) as profile:
            picture = reads.version_row(session, user_id, version)
            change = _use(session, actor, profile, picture)
        if change is not None:
            versions.commit(session)
    return change


def restore_named(
    session: Session, *, actor: Actor, user_id: int, name: str, seen: datetime
) -> tuple[Change | None, reads.PictureState]:
    """Use the version whose files are `name` (the API's update-picture), unless the picture
    changed after `seen` (StaleUpdate: two clients never overwrite each other's change
    unknowingly)."""
    authorise(session, actor=actor, user_id=user_id, action="picture.use")
    with refusals_audited(session, actor=actor, action="picture.use", user_id=user_id):
        with versions.staged(session, user_id) as profile:  # the lock, then the comparison
            current = reads.state(session, user_id)
            if seen < current.updated_at:
                raise StaleUpdate(current)
            picture = _named(session, user_id, name)
            change = _use(session, actor, profile, picture)
        if change is not None:
            versions.commit(session)
    return change, reads.state(session, user_id)


def remove(session: Session, *, actor: Actor, user_id: int) -> Removed:
    """No picture: the member's initials show again, everywhere. The version that was the
    picture stays in the history, to be used again."""
    authorise(session, actor=actor, user_id=user_id, action="picture.remove")
    with refusals_audited(session, actor=actor, action="picture.remove", user_id=user_id):
        with versions.staged(session, user_id) as profile:
            picture = versions.active(session, user_id)
            if picture is None:
                session.rollback()  # nothing to change: let the lock go
                return Removed(None, None)
            versions.deactivate(session, profile)
            change = versions.record(session, actor, picture, "picture.remove", "removed")
        versions.commit(session)
    return Removed(change, picture.version)


def delete(session: Session, *, actor: Actor, user_id: int, version: int | None = None) -> Deleted:
    """Soft-delete a version (the active one by default), kept for Undo until it is purged."""
    authorise(session, actor=actor, user_id=user_id, action="picture.delete")
    with refusals_audited(session, actor=actor, action="picture.delete", user_id=user_id):
        with versions.staged(session, user_id) as profile:
            picture = _to_delete(session, user_id, version)
            if picture.deleted_at is not None:
                raise PictureError(409, f"Version {picture.version} is deleted already.")
            was_active = picture.is_active
            picture.deleted_at = utcnow()
            picture.is_active = False
            if was_active:
                versions.fall_back(session, profile, picture)
            change = versions.record(session, actor, picture, "picture.delete", "deleted")
        versions.commit(session)
    return Deleted(change, picture.version, was_active)


def _use(
    session: Session, actor: Actor, profile: UserProfile, picture: ProfilePicture
) -> Change | None:
    if picture.is_active and picture.deleted_at is None:
        session.rollback()  # nothing to change: let the lock go
        return None
    picture.deleted_at = None
    versions.activate(session, profile, picture)
    return versions.record(session, actor, picture, "picture.use", "restored")


def _to_delete(session: Session, user_id: int, version: int | None) -> ProfilePicture:
    if version:
        return reads.version_row(session, user_id, version)
    picture = versions.active(session, user_id)
    if picture is None:
        raise PictureError(404, f"Member {user_id} has no picture to delete.")
    return picture


def _named(session: Session, user_id: int, name: str) -> ProfilePicture:
    """The newest version with these files, a kept one before a deleted one."""
    picture = session.exec(
        select(ProfilePicture)
        .where(
            ProfilePicture.user_id == user_id,
            ProfilePicture.filename == name,
            col(ProfilePicture.purged_at).is_(None),
        )
        .order_by(col(ProfilePicture.deleted_at).is_not(None), col(ProfilePicture.version).desc())
    ).first()
    if picture is None:
        raise PictureError(404, f"Member {user_id} has no picture named {name}.")
    return picture
