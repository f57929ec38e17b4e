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

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session, select

from db.models import User
from web.caches.recent import found_or_missing, keep_recent

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
        self.capacity = capacity
        self._ids: OrderedDict[str, int] = OrderedDict()
        self._missing: OrderedDict[str, float] = OrderedDict()  # handle: when it was read missing
        self._now = clock
        self._lock = threading.Lock()
        self._generation = 0  # up by one on every forget: a read from before it lands nowhere

    def get(self, handle: str) -> int | None:
        """The member's id, NOT_A_MEMBER when known to be missing, None when not cached."""
        with self._lock:
            return found_or_missing(
                self._ids,
                self._missing,
                handle,
                absent=NOT_A_MEMBER,
                now=self._now,
                seconds=MISSING_SECONDS,
            )

    def load(self, handle: str) -> int:
        """Read the handle from the database (in a worker thread: it blocks) and keep it."""
        with self._lock:
            generation = self._generation
        with Session(self.engine) as session:
            found = session.scalar(select(User.id).where(User.handle == handle))
        user_id = found or NOT_A_MEMBER
        with self._lock:
            if generation != self._generation:  # a member was added while we read
                return user_id
            if user_id:
                keep_recent(self._ids, handle, user_id, self.capacity)
            else:
                keep_recent(self._missing, handle, self._now(), self.capacity)
        return user_id

    def forget_missing(self) -> None:
        """A member was added: any handle read as missing may be theirs."""
        with self._lock:
            self._generation += 1
            self._missing.clear()
