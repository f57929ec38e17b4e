"""Who hears of a change, and when: after its transaction commits, never before, never for one
rolled back.

A change is recorded in its own transaction: `web.services.sync.record_change` writes its
`sync_events` row (the truth: a tab that missed the news reads it there) and notes the `Change`
on the session; `members.create_member` notes a new member. The session carries a `Commits`,
given where the session is made (the app's request sessions, the CLI's), and when the session's
transaction commits, every note is told to that Commits' subscribers, in the committing thread:
the app's read cache drops the member and its live hub publishes the event; the CLI rings the
servers through Redis. A `Followup` noted (`note_followup`: work an answer need not wait for,
such as a new version's AVIF copies) is handed to the `on_followup` subscribers the same way:
the app runs it in the background; a Commits with none drops it. A rollback forgets the notes,
of the whole transaction or of a savepoint within it; so does a session closed without a
commit. A session that carries no Commits (one made to read) tells no one, and costs nothing.

The session's hooks are SQLAlchemy events on that session alone, added with its first note: a
request that changes nothing pays for none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

MEMBER_ADDED: Final = "member added"
Note: TypeAlias = "Change | Literal['member added'] | Followup"
S = TypeVar("S", bound=Session)
_COMMITS = "ppsync.commits"  # session.info keys
_NOTES = "ppsync.commit_notes"
_COMMITTED = "ppsync.committed"


class Followup:
    """Work to do once its transaction has committed, off the answer's path: the base class of
    what `note_followup` takes (web/services/pictures/avif.py's Wanted)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Change:
    """A committed change: `event_id` is the SSE id, `version` the member's picture_version."""

    event_id: int
    user_id: int
    version: int
    kind: str


class Commits:
    """The subscribers of the sessions it is attached to. Each is called once per committed
    note, in the order subscribed; one that raises is logged, and the others still hear."""

    def __init__(self) -> None:
        self._changed: list[Callable[[Change], None]] = []
        self._added: list[Callable[[], None]] = []
        self._followups: list[Callable[[Followup], None]] = []

    def on_change(self, subscriber: Callable[[Change], None]) -> None:
        self._changed.append(subscriber)

    def on_member_added(self, subscriber: Callable[[], None]) -> None:
        self._added.append(subscriber)

    def on_followup(self, subscriber: Callable[[Followup], None]) -> None:
        self._followups.append(subscriber)

    def attach(self, session: S) -> S:
        """The session's committed notes are told to these subscribers; returns the session."""
        session.info[_COMMITS] = self
        return session

    def tell(self, notes: list[Note]) -> None:
        for note in notes:
            if isinstance(note, str):
                for added in self._added:
                    _safely(added)
            elif isinstance(note, Followup):
                for followup in self._followups:
                    _safely(followup, note)
            else:
                for changed in self._changed:
                    _safely(changed, note)


def _safely(subscriber: Callable[..., None], *args: object) -> None:
    try:
        subscriber(*args)
    except Exception:  # committed all the same: the other subscribers must still hear
        log.exception("commits: subscriber %r failed", subscriber)


def note_change(session: Session, change: Change) -> None:
    """Tell the session's subscribers of `change` once its transaction commits."""
    _note(session, change)


def note_member_added(session: Session) -> None:
    """Tell the session's subscribers a member was added once its transaction commits."""
    _note(session, MEMBER_ADDED)


def note_followup(session: Session, work: Followup) -> None:
    """Hand `work` to the session's followup subscribers once its transaction commits."""
    _note(session, work)


def _note(session: Session, note: Note) -> None:
    if _COMMITS not in session.info:
        return
    notes: list[tuple[SessionTransaction, Note]] | None = session.info.get(_NOTES)
    if notes is None:
        notes = session.info[_NOTES] = []
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_soft_rollback", _rolled_back)
        event.listen(session, "after_transaction_end", _ended)
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None  # a note follows the write it is about
    notes.append((transaction, note))


def _committed(session: Session) -> None:
    # Fired for a savepoint's release too: what counts is which transaction then ends.
    session.info[_COMMITTED] = True


def _rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    notes: list[tuple[SessionTransaction, Note]] = session.info[_NOTES]
    notes[:] = [(t, note) for t, note in notes if not _within(t, rolled_back)]


def _ended(session: Session, transaction: SessionTransaction) -> None:
    committed = session.info.pop(_COMMITTED, False)
    if transaction.parent is not None:  # a savepoint: its notes are the transaction's now
        return
    notes: list[tuple[SessionTransaction, Note]] = session.info[_NOTES]
    told = [note for _, note in notes] if committed else []
    notes.clear()  # told once; or rolled back, or closed uncommitted: never told
    if told:
        session.info[_COMMITS].tell(told)


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
