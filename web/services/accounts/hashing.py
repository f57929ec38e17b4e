"""The password-hashing queue: a fixed pool of threads, a short wait, and a share per client.

Each hash holds 64 MiB and a core for about a quarter of a second, so the pool is small
(HASHING_SLOTS threads) and the queue in front of it short: a place is either running or
waiting, and there are at most `slots + waiting` places in all, at most `per_client` of them
held by one client (an address). A request that finds no place is refused at once
(`HashingBusy`) rather than waiting behind everyone else's hashes: one address sending many
logins at once is refused past its share, and another's login waits for a thread at most for
the few hashes ahead of it in the short queue.

A place is taken and given back on the event loop with no await between the check and the
count, so no lock is needed; the count per client is forgotten when it falls to zero (the map
never holds more than `slots + waiting` keys).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio

T = TypeVar("T")
# Places one address may hold: two members behind one NAT may sign in at once, but never more
# than half the threads, so one address cannot keep another's login waiting for a thread.
PER_CLIENT = 2
WAITING_PER_SLOT = 2  # places waiting per thread: a login waits for at most two hashes ahead


class HashingBusy(Exception):
    """No place: `mine` when this client already holds its share, else the queue is full (the
    wait the refusal asks for is web/errors.py's RETRY_AFTER_HASHING)."""

    def __init__(self, *, mine: bool) -> None:
        super().__init__("this address already holds its hashing places" if mine else "full")
        self.mine = mine


class HashQueue:
    def __init__(self, slots: int, *, waiting: int | None = None, per_client: int | None = None):
        self.slots = slots
        self.places = slots + (slots * WAITING_PER_SLOT if waiting is None else waiting)
        self.per_client = per_client or min(PER_CLIENT, max(1, slots // 2))
        self._threads = anyio.CapacityLimiter(slots)
        self._held: dict[str, int] = {}
        self._taken = 0

    @asynccontextmanager
    async def place(self, client: str) -> AsyncIterator[None]:
        """Hold a place for `client` meanwhile, or raise HashingBusy at once."""
        held = self._held.get(client, 0)
        if held >= self.per_client:
            raise HashingBusy(mine=True)
        if self._taken >= self.places:
            raise HashingBusy(mine=False)
        self._held[client], self._taken = held + 1, self._taken + 1
        try:
            yield
        finally:
            self._taken -= 1
            if (left := self._held[client] - 1) > 0:
                self._held[client] = left
            else:
                del self._held[client]

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` (which hashes) on one of the pool's threads; call within a place."""
        return await anyio.to_thread.run_sync(work, limiter=self._threads)

    @property
    def held(self) -> dict[str, int]:
        """Places held per client now (for tests and the curious)."""
        return dict(self._held)
