"""The store that keeps rate limits working while Redis is down: memory during the outage,
Redis again once it answers, one log line each way, and no wait on a dead primary per call."""

from __future__ import annotations

import logging
from datetime import timedelta

import anyio
import pytest
from litestar.stores.memory import MemoryStore

from web.plumbing.fallback_store import FallbackStore

pytestmark = pytest.mark.anyio


class Flaky(MemoryStore):
    """A memory store that raises ConnectionError while `down`, counting the calls it got."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        self._answer()
        return await super().get(key, renew_for)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        self._answer()
        await super().set(key, value, expires_in)

    def _answer(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("Connection refused")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def primary() -> Flaky:
    return Flaky()


@pytest.fixture
def store(primary: Flaky, clock: Clock) -> FallbackStore:
    return FallbackStore(
        primary=primary, fallback=MemoryStore(), name="test redis", retry_after=5, clock=clock
    )


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "web.plumbing.fallback_store"]


async def test_primary_serves_while_it_answers(store: FallbackStore, primary: Flaky) -> None:
    await store.set("k", b"v")
    assert await primary.get("k") == b"v"
    assert await store.get("k") == b"v"
    assert not store.using_fallback


async def test_primary_error_is_answered_by_the_fallback(
    store: FallbackStore, primary: Flaky
) -> None:
    primary.down = True
    await store.set("k", b"v")
    assert await store.get("k") == b"v"
    assert await store.fallback.get("k") == b"v"
    assert store.using_fallback


async def test_an_outage_is_logged_once_not_per_call(
    store: FallbackStore, primary: Flaky, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    primary.down = True
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            await store.get("k")
            clock.now += 10  # each call is a new probe of the primary, still failing
    [line] = outage_lines(caplog)
    assert line.startswith("test redis unavailable, using in-process fallback")
    assert "Connection refused" in line


async def test_the_primary_is_not_tried_again_until_retry_after(
    store: FallbackStore, primary: Flaky, clock: Clock
) -> None:
    primary.down = True
    await store.get("k")
    tried = primary.calls
    clock.now += 4.9
    for _ in range(10):
        await store.get("k")
    assert primary.calls == tried


async def test_the_primary_serves_again_once_it_answers(
    store: FallbackStore, primary: Flaky, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    primary.down = True
    await store.set("k", b"during")
    primary.down = False
    clock.now += 5
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        await store.set("k", b"after")
    assert await primary.get("k") == b"after"
    assert not store.using_fallback
    assert outage_lines(caplog) == ["test redis answers again; in-process fallback dropped"]
    assert await store.fallback.get("k") is None  # its stale counters are freed


async def test_other_errors_are_not_swallowed(store: FallbackStore, primary: Flaky) -> None:
    async def broken(key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        raise ValueError("a bug, not an outage")

    primary.get = broken  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="a bug"):
        await store.get("k")


async def test_calls_during_a_probe_use_the_fallback_instead_of_waiting(
    store: FallbackStore, primary: Flaky, clock: Clock
) -> None:
    primary.down = True
    await store.get("k")
    clock.now += 5
    await store.fallback.set("k", b"from memory")
    release = anyio.Event()

    async def hanging(key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        await release.wait()  # a blackholed Redis: the probe waits for its timeout
        raise ConnectionError("timed out")

    primary.get = hanging  # type: ignore[method-assign]
    async with anyio.create_task_group() as group:
        group.start_soon(store.get, "k")  # the probe
        await anyio.wait_all_tasks_blocked()
        with anyio.fail_after(1):
            assert await store.get("k") == b"from memory"
        release.set()
