"""Member ids by handle, kept in memory for the stable avatar URL (`/members/{handle}/avatar`),
so that a cached member's avatar costs no database read there either (web/caches/reads.py holds
the rest of what it reads, by id).

A handle never changes and no member is ever removed, so a handle found is kept for good (least
recently used out first). A handle not found is remembered as missing for MISSING_SECONDS, as
the read cache remembers unknown ids: a client asking again and again costs one read in that
time. Adding a member in this process forgets every missing handle at once
(`ReadCache.forget_missing`); one added by another process is found at most MISSING_SECONDS
late, and only if its handle was asked for in the seconds before it was taken.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session, select

from db.models import User
from web.caches.recent import FoundOrMissing

HANDLES = 10_000  # handles found, and apart from them handles not found; ~100 bytes each
MISSING_SECONDS = 5.0  # as web/caches/reads.py's
NOT_A_MEMBER = 0  # what `get` answers for a handle known to be missing (ids start at 1)


class HandleIds:
    def __init__(
        self,
        engine: Engine,
        *,
        capacity: int = HANDLES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self._ids: FoundOrMissing[str, int] = FoundOrMissing(
            found=capacity,
            missing=capacity,
            absent=NOT_A_MEMBER,
            seconds=MISSING_SECONDS,
            clock=clock,
        )

    def get(self, handle: str) -> int | None:
        """The member's id, NOT_A_MEMBER when known to be missing, None when not cached."""
        return self._ids.get(handle)

    def load(self, handle: str) -> int:
        """Read the handle from the database (in a worker thread: it blocks) and keep it."""
        generation = self._ids.generation()
        with Session(self.engine) as session:
            found = session.scalar(select(User.id).where(User.handle == handle))
        if found:
            self._ids.keep(handle, found, generation)
        else:
            self._ids.keep_missing(handle, generation)  # unless a member was added meanwhile
        return found or NOT_A_MEMBER

    def forget_missing(self) -> None:
        """A member was added: any handle read as missing may be theirs."""
        self._ids.forget_missing()
