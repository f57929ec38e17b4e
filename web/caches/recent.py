"""What the caches by key share: values found, least recently used out first past a bound, and
keys read missing, remembered for a few seconds (likewise bounded), so that a client asking again
and again for something that is not there costs one read in that time.

Handlers read it from the event loop and fill it from worker threads: locked, and a fill that
read before a forget never lands after it (`generation`, taken before the read).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FoundOrMissing(Generic[K, V]):
    """At most `found` values and `missing` marks (each read missing `seconds` ago at most),
    the oldest out first; `absent` is what a key read missing gives."""

    def __init__(
        self,
        *,
        found: int,
        missing: int,
        absent: V,
        seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._found: OrderedDict[K, V] = OrderedDict()
        self._missing: OrderedDict[K, float] = OrderedDict()  # key: when it was read missing
        self._bounds = (found, missing)
        self._absent = absent
        self._seconds = seconds
        self._now = clock
        self._lock = threading.Lock()
        self._generation = 0  # up by one on every forget

    def get(self, key: K) -> V | None:
        """`key`'s value (now the most recently used); `absent` when it was read missing less
        than `seconds` ago; None when neither is known (an older mark is dropped)."""
        with self._lock:
            value = self._found.get(key)
            if value is not None:
                self._found.move_to_end(key)
                return value
            since = self._missing.get(key)
            if since is None:
                return None
            if self._now() - since < self._seconds:
                return self._absent
            del self._missing[key]
            return None

    def generation(self) -> int:
        """Taken before a read: `keep` and `keep_missing` are given it back."""
        with self._lock:
            return self._generation

    def keep(self, key: K, value: V, generation: int) -> None:
        """Keep what a read found, unless something was forgotten since it started."""
        with self._lock:
            if generation == self._generation:
                keep_recent(self._found, key, value, self._bounds[0])

    def keep_missing(self, key: K, generation: int) -> None:
        """Mark `key` read missing, unless something was forgotten since the read started."""
        with self._lock:
            if generation == self._generation:
                keep_recent(self._missing, key, self._now(), self._bounds[1])

    def forget(self, keys: Iterable[K]) -> None:
        with self._lock:
            self._generation += 1
            for key in keys:
                self._found.pop(key, None)

    def forget_missing(self) -> None:
        with self._lock:
            self._generation += 1
            self._missing.clear()

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._found.clear()
            self._missing.clear()


def keep_recent(items: OrderedDict[K, V], key: K, value: V, most: int) -> None:
    """Put as the most recently used, dropping the least recently used past `most`."""
    items[key] = value
    items.move_to_end(key)
    if len(items) > most:
        items.popitem(last=False)
