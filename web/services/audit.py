"""The audit trail: every change and every refused attempt, one row each, within a bound.

Refusals are written at most REFUSALS_PER_MINUTE per actor (member or token) a minute, per
process: a token calling for another member's id 200 times a second is refused each time but
writes 30 rows a minute, the last saying that more were not written. Changes are never
skipped, nor an operator's (the command line's) refusals.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from db.models import AuditLog

OUTCOMES = ("ok", "denied", "invalid")
REFUSALS_PER_MINUTE = 30
ACTORS_KEPT = 10_000  # actors whose refusals are being counted, per process (a few MB at most)
UNWRITTEN = " (later refusals by this actor within the minute are not written)"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, from where: the signed-in member or token owner (None: an operator at the
    command line), the client address, and for the API the token and its owner's admin flag."""

    user_id: int | None
    ip: str | None = None
    token_id: int | None = None
    is_admin: bool = False


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    outcome: str,
    subject_id: int | None = None,
    picture_id: int | None = None,
    detail: str = "",
) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if outcome != "ok" and actor.user_id is not None:
        left = _budget_of(session).take((actor.user_id, actor.token_id))
        if left < 0:
            return
        detail = detail[: 500 - len(UNWRITTEN)] + UNWRITTEN if left == 0 else detail
    session.add(
        AuditLog(
            actor_id=actor.user_id,
            action=action,
            subject_id=subject_id,
            picture_id=picture_id,
            ip=actor.ip,
            outcome=outcome,
            detail=detail[:500],
        )
    )


class RefusalBudget:
    """REFUSALS_PER_MINUTE rows per actor in fixed one-minute windows. Services run in worker
    threads: locked. At most ACTORS_KEPT actors are counted (the one refused longest ago is
    forgotten first); actors are members and tokens, which an anonymous client cannot make up."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._now = clock
        self._windows: OrderedDict[tuple[int, int | None], tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, actor: tuple[int, int | None]) -> int:
        """Rows this actor may still write in its window after this one (-1: not this one)."""
        with self._lock:
            now = self._now()
            started, count = self._windows.get(actor, (now, 0))
            if now - started >= 60:
                started, count = now, 0
            self._windows.pop(actor, None)
            self._windows[actor] = started, count + 1
            if len(self._windows) > ACTORS_KEPT:
                self._windows.popitem(last=False)
            return REFUSALS_PER_MINUTE - (count + 1)


# One budget per database, so per app (the tests make one app after another).
_budgets: weakref.WeakKeyDictionary[Engine, RefusalBudget] = weakref.WeakKeyDictionary()
_budgets_lock = threading.Lock()


def _budget_of(session: Session) -> RefusalBudget:
    engine = session.get_bind().engine
    with _budgets_lock:
        budget = _budgets.get(engine)
        if budget is None:
            budget = _budgets[engine] = RefusalBudget()
        return budget
