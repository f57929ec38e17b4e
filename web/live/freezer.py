"""Keeping long-lived streams out of the garbage collector's walks.

A stream lives for hours, so its objects end up in the oldest generation, and every full
collection walks them all: with 5,000 streams that is a 0.2 s pause, and a burst of connections
(after a deploy) sets off one after another, right when changes fan out. So every FREEZE_EVERY
new streams, `gc.freeze()` moves everything alive out of the walks. Frozen objects are never
collected, so `reclaim` undoes this now and then (web/live/upkeep.py), when enough streams have
ended for their garbage to be worth one full collection.
"""

from __future__ import annotations

import gc

FREEZE_EVERY = 500  # new streams
# Ended streams, per open one, that make a full collection worth its pause: CPython's own rule
# for its full collections (the objects waiting, a quarter of those that have lived long).
RECLAIM_SHARE = 0.25


class Freezer:
    def __init__(self) -> None:
        self._unfrozen = 0  # streams opened since the last gc.freeze()
        self._ended = 0  # streams ended since the last reclaim: their cycles may be frozen

    def settle(self) -> None:
        """Count one new stream; every FREEZE_EVERY of them, freeze."""
        self._unfrozen += 1
        if self._unfrozen >= FREEZE_EVERY:
            self._unfrozen = 0
            gc.freeze()

    def release(self) -> None:
        """Count one ended stream: what it leaves in the frozen generation waits for reclaim."""
        self._ended += 1

    def reclaim(self, open_streams: int) -> bool:
        """One full collection of the frozen generation, if at least RECLAIM_SHARE as many
        streams ended since the last as are open; says whether it ran.

        The collection walks every live object and stops the event loop meanwhile (0.2-0.8 s
        with 5,000 streams on a busy 2-core machine): a change published then waits for it. Run
        on every maintenance tick after a freeze, it landed on the fan-out's p99 a few seconds
        after a burst of new streams, when there was nothing yet to reclaim (bench/sse_fanout.py).
        """
        if self._ended == 0 or self._ended < RECLAIM_SHARE * open_streams:
            return False
        self._ended = 0
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        return True
