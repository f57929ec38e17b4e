"""Keeping long-lived streams out of the garbage collector's walks.

A stream lives for hours, so its objects end up in the oldest generation, and every full
collection walks them all: with 5,000 streams that is a 0.2 s pause, and a burst of connections
(after a deploy) sets off one after another, right when changes fan out. So every FREEZE_EVERY
new streams, `gc.freeze()` moves everything alive out of the walks. Frozen objects are never
collected, so `reclaim` undoes this now and then, at a quiet moment (web/live/upkeep.py).
"""

from __future__ import annotations

import gc

FREEZE_EVERY = 500  # new streams


class Freezer:
    def __init__(self) -> None:
        self._unfrozen = 0  # streams opened since the last gc.freeze()
        self._frozen_streams = False

    def settle(self) -> None:
        """Count one new stream; every FREEZE_EVERY of them, freeze."""
        self._unfrozen += 1
        if self._unfrozen >= FREEZE_EVERY:
            self._unfrozen = 0
            self._frozen_streams = True
            gc.freeze()

    def reclaim(self) -> None:
        # Cycles left by closed streams wait in the frozen generation: one full collection,
        # at a quiet moment of our choosing, every maintenance tick that followed a freeze.
        if self._frozen_streams:
            self._frozen_streams = False
            gc.unfreeze()
            gc.collect()
            gc.freeze()
