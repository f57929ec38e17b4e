"""The record of a change that every open tab must hear about."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from db.models import SyncEvent, UserProfile
from db.types import utcnow

KINDS = ("uploaded", "restored", "deleted")


@dataclass(frozen=True, slots=True)
class Change:
    """A committed change: `event_id` is the SSE id, `version` the member's picture_version."""

    event_id: int
    user_id: int
    version: int
    kind: str


def record_change(session: Session, *, user_id: int, kind: str) -> Change:
    """Bump the member's picture_version and write its sync event, in the caller's transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown change kind {kind!r}")
    profile = session.get(UserProfile, user_id, with_for_update=True)
    if profile is None:
        raise LookupError(f"member {user_id} has no profile")
    profile.picture_version += 1
    profile.updated_at = utcnow()
    event = SyncEvent(user_id=user_id, kind=kind, picture_version=profile.picture_version)
    session.add(event)
    session.flush()
    assert event.id is not None
    return Change(event.id, user_id, profile.picture_version, kind)
