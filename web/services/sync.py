"""The record of a change that every open tab must hear about, and how a tab catches up.

`sync_events` ids are the SSE event ids. They must commit in id order, or a tab that reconnects
after id 11 would never be sent an id 10 that committed later: see `record_change`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, text, update
from sqlmodel import Session, col, select

from db.models import SyncEvent, UserProfile
from db.types import utcnow
from web.services import commits
from web.services.commits import Change

# updated: how the picture shows; removed: no picture, the initials again. Every picture kind
# bumps picture_version. tokens: the member's API token list changed (its own event name, and
# only the member's own tabs hear it: web/live/channel.py); the picture is untouched.
KINDS = ("uploaded", "restored", "deleted", "updated", "removed", "tokens")
TOKENS = "tokens"
EVENT_WINDOW = timedelta(hours=24)  # how far back a reconnecting tab is replayed
REPLAY_LIMIT = 500  # past this many missed events a resync is cheaper than a replay
CONFIRM_EVERY = timedelta(minutes=1)  # last_picture_sync is written at most this often
# Any constant works: the lock only has to be the same one in every process.
_EVENT_ORDER_LOCK = 0x70707379


@dataclass(frozen=True, slots=True)
class Replay:
    """What a (re)connecting tab is sent before going live.

    `last_event_id` is the id the tab is current to once `changes` are sent; live events at or
    below it are duplicates. `resync` means the tab is too far behind and must re-check all.
    """

    changes: tuple[Change, ...]
    last_event_id: int
    resync: bool = False


def record_change(session: Session, *, user_id: int, kind: str, locked: bool = False) -> Change:
    """Bump the member's picture_version (not for `tokens`) and write its sync event, in the
    caller's transaction; the session's subscribers hear of it once that transaction commits
    (web.services.commits). `locked`: the transaction holds the member's row lock and has
    read the row already (versions.staged), so it is taken from the session as it is."""
    if kind not in KINDS:
        raise ValueError(f"unknown change kind {kind!r}")
    # Read again, the row would first be flushed: one SELECT and one more UPDATE a change.
    profile = session.get(UserProfile, user_id, with_for_update=not locked)
    if profile is None:
        raise LookupError(f"member {user_id} has no profile")
    _serialise_event_ids(session)
    if kind != TOKENS:  # the picture's version and updatedAt are the picture's alone
        profile.picture_version += 1
        profile.updated_at = utcnow()
    event = SyncEvent(user_id=user_id, kind=kind, picture_version=profile.picture_version)
    session.add(event)
    session.flush()
    assert event.id is not None
    change = Change(event.id, user_id, profile.picture_version, kind)
    commits.note_change(session, change)
    return change


def _serialise_event_ids(session: Session) -> None:
    # PostgreSQL takes an id from the sequence at insert time, and transactions may commit in
    # another order; held until commit, this lock makes event ids commit in id order. SQLite's
    # single writer does that already. Changes are rare (uploads), so the queue is short.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_ORDER_LOCK})


def replay_since(
    session: Session,
    last_event_id: int | None,
    *,
    members: Collection[int] | None = None,
    limit: int = REPLAY_LIMIT,
) -> Replay:
    """The events a tab missed after `last_event_id` (None: a fresh tab, nothing to replay);
    with `members`, only theirs (the members its stream follows).

    A tab is current to the newest event once sent its members' missed ones, so the replay's
    `last_event_id` is the newest event's, whoever it was about.
    """
    oldest, newest = session.execute(select(func.min(SyncEvent.id), func.max(SyncEvent.id))).one()
    newest = newest or 0
    if last_event_id is None:
        return Replay((), newest)
    # An id this database never issued (it was reset), or one older than the kept window.
    if last_event_id > newest or (oldest is not None and last_event_id + 1 < oldest):
        return Replay((), newest, resync=True)
    if members is not None and not members:
        return Replay((), newest)
    query = select(SyncEvent).where(col(SyncEvent.id) > last_event_id)
    if members is not None:
        query = query.where(col(SyncEvent.user_id).in_(sorted(members)))
    rows = session.exec(query.order_by(col(SyncEvent.id)).limit(limit + 1)).all()
    if len(rows) > limit:
        return Replay((), max(newest, _id(rows[-1])), resync=True)
    changes = tuple(Change(_id(r), r.user_id, r.picture_version, r.kind) for r in rows)
    if members is not None:
        return Replay(changes, max(newest, changes[-1].event_id if changes else 0))
    return Replay(changes, changes[-1].event_id if changes else last_event_id)


def _id(event: SyncEvent) -> int:
    assert event.id is not None
    return event.id


def prune_events(session: Session, *, now: datetime | None = None) -> int:
    """Drop events older than the window, always keeping the newest.

    Keeping the newest keeps ids monotonic: SQLite reuses max(id) + 1 once the table is empty.
    """
    cutoff = (now or utcnow()) - EVENT_WINDOW
    newest = select(func.max(SyncEvent.id)).scalar_subquery()
    result = session.execute(
        delete(SyncEvent).where(col(SyncEvent.created_at) < cutoff, col(SyncEvent.id) < newest)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def current_versions(session: Session, user_ids: Iterable[int]) -> dict[int, int]:
    """Each member's picture_version; members that do not exist are left out."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(UserProfile.user_id, UserProfile.picture_version).where(
            col(UserProfile.user_id).in_(ids)
        )
    )
    return dict(rows.all())


def confirm_current(session: Session, *, user_id: int, now: datetime | None = None) -> None:
    """The member's own tab shows their current picture: note when (at most once a minute)."""
    now = now or utcnow()
    session.execute(
        update(UserProfile)
        .where(col(UserProfile.user_id) == user_id)
        .where(
            col(UserProfile.last_picture_sync).is_(None)
            | (col(UserProfile.last_picture_sync) < now - CONFIRM_EVERY)
        )
        .values(last_picture_sync=now)
    )
    session.commit()
