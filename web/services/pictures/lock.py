"""One change to a member's picture at a time: the member's lock, and what counts as a conflict.

A change's transaction starts with a write to the member's `user_profiles` row. PostgreSQL
holds that row's lock until the commit; SQLite (whose pysqlite driver opens the transaction
just before the first write) takes its one write lock there, waiting up to `busy_timeout`.
Either way the next version number is read only once the lock is held, so two concurrent
changes by one member are serialised and never take the same version number.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col

from db.models import UserProfile

# PostgreSQL: serialization failure, deadlock, lock not available.
_PG_CONFLICTS = {"40001", "40P01", "55P03"}
_SQLITE_CONFLICTS = ("SQLITE_BUSY", "SQLITE_LOCKED")


def lock_member(session: Session, user_id: int) -> None:
    """Take the member's change lock: the first statement of a change's transaction."""
    session.execute(
        update(UserProfile)
        .where(col(UserProfile.user_id) == user_id)
        .values(picture_version=UserProfile.picture_version)
    )


def is_conflict(error: BaseException) -> bool:
    """A concurrent change got in the way (nothing was committed; a retry may pass), as opposed
    to the database being unreachable or broken."""
    if isinstance(error, IntegrityError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) in _PG_CONFLICTS:
        return True
    name = str(getattr(original, "sqlite_errorname", ""))
    return name.startswith(_SQLITE_CONFLICTS)
