"""What keeps the fan-out's time near a bare broadcaster's: its direct write to an idle stream
(LiveSubscriber.direct, web/overrides/send_at_once.py), a frame written by the fan-out itself
only while the stream's task waits with nothing queued, one that would wait going through the
queue, in order; and no full collection of the frozen streams unless enough of them ended
(web/live/freezer.py)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from web.live.channel import LiveSubscriber
from web.live.freezer import FREEZE_EVERY, Freezer
from web.overrides.send_at_once import can_send_at_once, send_at_once

BODY: Any = {"type": "http.response.body", "body": b"frame", "more_body": True}


async def waiting(subscriber: LiveSubscriber) -> asyncio.Task[bytes | None]:
    task = asyncio.create_task(subscriber.next())
    await asyncio.sleep(0)  # the task now waits for a frame
    return task


@pytest.mark.anyio
async def test_a_waiting_stream_is_written_to_directly_and_its_task_sleeps_on() -> None:
    written: list[bytes] = []
    subscriber = LiveSubscriber()
    subscriber.direct = lambda frame: written.append(frame) is None
    task = await waiting(subscriber)
    assert subscriber.put_nowait(b"one")
    await asyncio.sleep(0)
    assert written == [b"one"] and subscriber.qsize == 0 and not task.done()
    subscriber.close()
    assert await task is None


@pytest.mark.anyio
async def test_a_frame_that_would_wait_is_queued_and_wakes_the_task() -> None:
    subscriber = LiveSubscriber()
    subscriber.direct = lambda frame: False
    task = await waiting(subscriber)
    subscriber.put_nowait(b"one")
    assert await task == b"one"


@pytest.mark.anyio
async def test_a_busy_stream_gets_its_frames_through_the_queue_in_order() -> None:
    # Its task is not waiting (it is writing an earlier frame): a direct write would overtake.
    asked: list[bytes] = []
    subscriber = LiveSubscriber()
    subscriber.direct = lambda frame: asked.append(frame) is None
    subscriber.put_nowait(b"one")
    subscriber.put_nowait(b"two")
    assert asked == []
    assert [await subscriber.next(), await subscriber.next()] == [b"one", b"two"]


@pytest.mark.anyio
async def test_send_at_once_runs_a_send_that_needs_no_wait() -> None:
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    assert send_at_once(send, BODY)
    assert sent == [BODY]


@pytest.mark.anyio
async def test_send_at_once_drops_a_send_that_would_wait_and_one_that_fails() -> None:
    stages: list[str] = []

    async def paused(message: Any) -> None:
        stages.append("waiting")
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            stages.append("closed")
        stages.append("written")

    async def broken(message: Any) -> None:
        raise RuntimeError("closed transport")

    assert not send_at_once(paused, BODY)
    assert stages == ["waiting", "closed"]  # nothing written, nothing left pending
    assert not send_at_once(broken, BODY)


def test_only_uvicorns_send_is_run_at_once() -> None:
    async def send(message: Any) -> None:
        pass

    assert not can_send_at_once(send)  # a test client's, say: its frames go through the task


def test_the_frozen_garbage_is_collected_only_once_enough_streams_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A full collection stops the loop for as long as it walks every stream: not for nothing.
    collections: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *args: collections.append(1) or 0)
    monkeypatch.setattr(gc, "unfreeze", lambda: None)
    monkeypatch.setattr(gc, "freeze", lambda: None)
    kept = Freezer()
    for _ in range(FREEZE_EVERY):
        kept.settle()
    assert not kept.reclaim(open_streams=FREEZE_EVERY)  # a burst of new streams: nothing ended
    for _ in range(FREEZE_EVERY // 4 - 1):
        kept.release()
    assert not kept.reclaim(open_streams=FREEZE_EVERY)
    kept.release()  # a quarter of the open streams have ended since the last
    assert kept.reclaim(open_streams=FREEZE_EVERY)
    assert collections == [1]
    assert not kept.reclaim(open_streams=FREEZE_EVERY)  # counted afresh
