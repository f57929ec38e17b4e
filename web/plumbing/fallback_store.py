"""A store that uses its primary (Redis) while it answers and a fallback (memory) while it does
not, so an outage degrades rate limits to per-process counters instead of failing requests.

A short circuit breaker keeps an outage cheap: after a failure the fallback alone serves for
`retry_after` seconds, then one call tries the primary again. The outage is logged once when
it starts and once when it ends, never per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import TracebackType
from typing import TypeVar

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_AFTER = 5.0  # seconds on the fallback alone before the primary is tried again


class FallbackStore(Store):
    __slots__ = (
        "_clock",
        "_down_until",
        "_errors",
        "_is_down",
        "fallback",
        "name",
        "primary",
        "retry_after",
    )

    def __init__(
        self,
        *,
        primary: Store,
        fallback: Store,
        errors: tuple[type[BaseException], ...] = (OSError,),
        name: str = "store",
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = name
        self._errors = errors
        self.retry_after = retry_after
        self._clock = clock
        self._is_down = False
        self._down_until = 0.0

    @property
    def using_fallback(self) -> bool:
        return self._is_down

    async def _call(self, use: Callable[[Store], Awaitable[T]]) -> T:
        now = self._clock()
        if self._is_down and now < self._down_until:
            return await use(self.fallback)
        # Claim the probe: calls arriving while it runs stay on the fallback.
        self._down_until = now + self.retry_after
        try:
            result = await use(self.primary)
        except self._errors as error:
            self._down_until = self._clock() + self.retry_after
            if not self._is_down:
                self._is_down = True
                log.warning(
                    "%s unavailable, using in-process fallback: %s: %s",
                    self.name,
                    type(error).__name__,
                    error,
                )
            return await use(self.fallback)
        if self._is_down:
            self._is_down = False
            log.warning("%s answers again; in-process fallback dropped", self.name)
            await self.fallback.delete_all()  # its counters are stale now; free them
        return result

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        await self._call(lambda store: store.set(key, value, expires_in))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await self._call(lambda store: store.get(key, renew_for))

    async def delete(self, key: str) -> None:
        await self._call(lambda store: store.delete(key))

    async def delete_all(self) -> None:
        await self._call(lambda store: store.delete_all())

    async def exists(self, key: str) -> bool:
        return await self._call(lambda store: store.exists(key))

    async def expires_in(self, key: str) -> int | None:
        return await self._call(lambda store: store.expires_in(key))

    async def __aenter__(self) -> None:
        await self.primary.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.primary.__aexit__(exc_type, exc_val, exc_tb)


PURGE_EVERY = 60.0  # seconds between sweeps of expired in-memory counters


class MemoryPurger:
    """Sweeps the expired keys of a store's in-memory part on a timer (started with the app):
    a MemoryStore only forgets a key when that key is read again, so counters for addresses
    or handles never seen twice would pile up."""

    def __init__(self, store: Store, every: float = PURGE_EVERY) -> None:
        self.every = every
        self.memory = [
            part
            for part in (store, getattr(store, "fallback", None))
            if isinstance(part, MemoryStore)
        ]
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.memory and self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def purge(self) -> None:
        for store in self.memory:
            await store.delete_expired()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.purge()
