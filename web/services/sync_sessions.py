"""`sync_sessions`: a row per connected tab, written in batches off the event path.

A process keeps its tabs in memory and calls `save_sessions` on a timer (and at shutdown), so a
change fanned out to thousands of streams costs no database write per stream.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Insert, delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from db.models import SyncEvent, SyncSession, User
from db.types import utcnow

STALE_AFTER = timedelta(seconds=90)  # no word from a process for this long: its tabs are gone
KEEP_CLOSED = timedelta(days=1)  # closed rows are kept this long for the record
_CHUNK = 500  # ids per IN (...) list


@dataclass(slots=True)
class LiveSession:
    """One connected tab, as its process knows it."""

    id: str
    viewer_id: int | None
    user_agent: str
    connected_at: datetime
    last_event_id: int


@dataclass(frozen=True, slots=True)
class SessionRow:
    viewer_handle: str | None
    user_agent: str
    connected_at: datetime
    last_seen_at: datetime
    last_event_id: int
    lag: int  # events this tab has not been sent yet


@dataclass(frozen=True, slots=True)
class SyncOverview:
    latest_event_id: int
    sessions: list[SessionRow]

    @property
    def lagging(self) -> int:
        return sum(1 for row in self.sessions if row.lag)


def save_sessions(
    session: Session,
    *,
    opened: Sequence[LiveSession] = (),
    live: Sequence[LiveSession] = (),
    closed: Sequence[LiveSession] = (),
    now: datetime | None = None,
) -> None:
    """Insert new tabs, then bring every known tab's last event and last seen up to date."""
    now = now or utcnow()
    if opened:
        known = _existing_members(session, {s.viewer_id for s in opened if s.viewer_id})
        rows = [_row(s, known, now) for s in opened]
        session.execute(_insert_new(session), rows)
    _touch(session, live, {"last_seen_at": now})
    _touch(session, closed, {"last_seen_at": now, "disconnected_at": now})


def _insert_new(session: Session) -> Insert:
    # Idempotent: a save interrupted after its commit (shutdown) may be run again.
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(SyncSession).on_conflict_do_nothing()
    return sqlite.insert(SyncSession).on_conflict_do_nothing()


def _row(tab: LiveSession, known: set[int], now: datetime) -> dict[str, object]:
    return {
        "id": tab.id,
        "viewer_id": tab.viewer_id if tab.viewer_id in known else None,
        "user_agent": tab.user_agent[:255],
        "connected_at": tab.connected_at,
        "last_event_id": tab.last_event_id,
        "last_seen_at": now,
    }


def _existing_members(session: Session, ids: set[int | None]) -> set[int]:
    # A session cookie may outlive its member; the row then records an anonymous tab.
    if not ids:
        return set()
    return set(session.scalars(select(User.id).where(col(User.id).in_(ids))))


def _touch(session: Session, tabs: Iterable[LiveSession], values: dict[str, object]) -> None:
    # Tabs of one process are mostly at the same event: one UPDATE per distinct id, not per tab.
    by_event: defaultdict[int, list[str]] = defaultdict(list)
    for tab in tabs:
        by_event[tab.last_event_id].append(tab.id)
    for event_id, ids in by_event.items():
        for start in range(0, len(ids), _CHUNK):
            session.execute(
                update(SyncSession)
                .where(col(SyncSession.id).in_(ids[start : start + _CHUNK]))
                .values(last_event_id=event_id, **values)
            )


def close_stale_sessions(session: Session, *, now: datetime | None = None) -> None:
    """Close the rows of processes that stopped without saying so; forget old closed rows."""
    now = now or utcnow()
    session.execute(
        update(SyncSession)
        .where(col(SyncSession.disconnected_at).is_(None))
        .where(col(SyncSession.last_seen_at) < now - STALE_AFTER)
        .values(disconnected_at=SyncSession.last_seen_at)
    )
    session.execute(delete(SyncSession).where(col(SyncSession.disconnected_at) < now - KEEP_CLOSED))


def overview(session: Session, *, now: datetime | None = None, limit: int = 500) -> SyncOverview:
    """Live tabs, newest first, and how many events each is behind the newest."""
    now = now or utcnow()
    latest = session.scalar(select(func.max(SyncEvent.id))) or 0
    rows = session.execute(
        select(SyncSession, User.handle)
        .join(User, col(User.id) == col(SyncSession.viewer_id), isouter=True)
        .where(col(SyncSession.disconnected_at).is_(None))
        .where(col(SyncSession.last_seen_at) >= now - STALE_AFTER)
        .order_by(col(SyncSession.connected_at).desc())
        .limit(limit)
    )
    return SyncOverview(latest, [_session_row(tab, handle, latest) for tab, handle in rows])


def _session_row(tab: SyncSession, handle: str | None, latest: int) -> SessionRow:
    last = tab.last_event_id or 0
    return SessionRow(
        viewer_handle=handle,
        user_agent=tab.user_agent,
        connected_at=tab.connected_at,
        last_seen_at=tab.last_seen_at,
        last_event_id=last,
        lag=max(0, latest - last),
    )
