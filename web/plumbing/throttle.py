"""Counters in the app's rate-limit store (Redis, shared by every process; memory while Redis is
away): failed logins, sign-ups, uploads, crop suggestions, unauthenticated API calls. Each limit
is written here once; docs/security.md lists them.

A counter is a fixed window: its first hit starts it, and it is forgotten (the store's expiry)
when the window ends. A hit is counted before the work it limits (a password hash, an upload),
so a burst of requests cannot all pass the check before the first of them is counted; within
a process, checks and counts take turns (the app's lock). Across processes they are
read-then-write on Redis: two processes counting at the same instant may count once, which a
limit of this kind can afford.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from litestar import Litestar
from litestar.stores.base import Store


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    hits: int
    seconds: int


# Failed logins for one handle from one address; the sixth try within the window is refused.
LOGIN_PER_ADDRESS = Limit("login", hits=5, seconds=15 * 60)
# Failed logins for one handle from every address: slows guessing spread over many addresses,
# and locks the member out for at most a minute when it is reached.
LOGIN_PER_HANDLE = Limit("login-handle", hits=10, seconds=60)
SIGNUPS_PER_ADDRESS = Limit("signup", hits=5, seconds=60 * 60)
# API calls without a valid token, per address: counted before the token is looked up.
API_UNAUTHENTICATED = Limit("api-anon", hits=60, seconds=60)


def previews_per_member(per_minute: int) -> Limit:
    """Edit previews per member: their own allowance, apart from uploads."""
    return Limit("edit-previews", hits=per_minute, seconds=60)


def uploads_per_member(per_minute: int) -> Limit:
    """Uploads and recrops per member, on the forms and every token together."""
    return Limit("uploads", hits=per_minute, seconds=60)


def suggestions_per_member(per_minute: int) -> Limit:
    """The cropper's crop suggestions per member: an allowance of their own, not uploads."""
    return Limit("suggestions", hits=per_minute, seconds=60)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A limit that is reached: wait `retry_after` seconds."""

    limit: Limit
    retry_after: int


class Throttled(Exception):
    """A request refused for a limit, raised for the app's error map to answer (web/errors.py:
    429 with Retry-After): `detail` says why, `retry_after` how many seconds to wait."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


Count = tuple[Limit, tuple[str, ...]]  # a limit and the subject it counts (handle, address...)


class Throttle:
    def __init__(
        self,
        store: Store,
        lock: anyio.Lock | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.lock = lock or anyio.Lock()
        self._now = clock  # wall-clock time: windows are shared by processes (in Redis)

    async def take_all(self, *counts: Count) -> Refusal | None:
        """Check every count, and when none is refused, count this hit in each."""
        async with self.lock:
            for limit, subject in counts:
                if refusal := await self.check(limit, *subject):
                    return refusal
            for limit, subject in counts:
                await self.hit(limit, *subject)
        return None

    async def give_back(self, limit: Limit, *subject: str) -> None:
        """Uncount one hit (a sign-up the form refused, which made no account)."""
        key = key_of(limit, subject)
        async with self.lock:
            count, ends = await self._read(key)
            if count > 1:
                left = max(1, math.ceil(ends - self._now()))
                await self.store.set(key, f"{count - 1} {ends:.3f}", expires_in=left)
            elif count == 1:
                await self.store.delete(key)

    async def check(self, limit: Limit, *subject: str) -> Refusal | None:
        """Refused when the window already holds `limit.hits` hits; counts nothing."""
        count, ends = await self._read(key_of(limit, subject))
        if count >= limit.hits:
            return Refusal(limit, max(1, math.ceil(ends - self._now())))
        return None

    async def hit(self, limit: Limit, *subject: str) -> None:
        key = key_of(limit, subject)
        count, ends = await self._read(key)
        now = self._now()
        if count == 0:
            ends = now + limit.seconds
        left = max(1, math.ceil(ends - now))
        await self.store.set(key, f"{count + 1} {ends:.3f}", expires_in=left)

    async def take(self, limit: Limit, *subject: str) -> Refusal | None:
        """Check, and count this hit when it is allowed."""
        return await self.take_all((limit, subject))

    async def reset(self, limit: Limit, *subject: str) -> None:
        await self.store.delete(key_of(limit, subject))

    async def _read(self, key: str) -> tuple[int, float]:
        raw = await self.store.get(key)
        try:
            count, ends = (raw or b"").decode().split()
            window = int(count), float(ends)
        except ValueError:
            return 0, 0.0
        return window if window[1] > self._now() else (0, 0.0)


def key_of(limit: Limit, subject: tuple[str, ...]) -> str:
    """The store key of one subject's counter."""
    # Hashed: a subject (a handle as typed, an address) never makes a long key.
    digest = hashlib.sha256("\0".join(subject).encode()).hexdigest()[:32]
    return f"{limit.name}:{digest}"


def throttle_of(app: Litestar) -> Throttle:
    lock: anyio.Lock = app.state["throttle_lock"]
    return Throttle(app.stores.get("rate_limit"), lock)


def wait_text(seconds: int) -> str:
    """ "46 seconds", "1 second", "14 minutes 10 seconds", "15 minutes": exactly the wait the
    refusal's Retry-After gives, so the sentence and the header never disagree."""
    if seconds <= 90:
        return _count(seconds, "second")
    minutes, rest = divmod(seconds, 60)
    return _count(minutes, "minute") + (f" {_count(rest, 'second')}" if rest else "")


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"
