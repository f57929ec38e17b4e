"""Live events: one channel for every avatar change, memory or Redis backed.

A change is encoded once, as the exact SSE frame bytes, and those same bytes go to every stream.
Each stream is one subscriber (a small queue), the request's own task and one task waiting for
the disconnect; keep-alives come from one process-wide timer through the same queues, so an
idle stream holds no timer. The streams themselves: web/routes/events.py and web/live_hub.py.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.channels.subscriber import BacklogStrategy, Subscriber
from redis.asyncio import Redis

from web.services.sync import Change, Replay
from web.settings import Settings

CHANNEL = "avatars"
RETRY_MS = 1000  # reconnect hint; the htmx SSE extension doubles it per failed attempt
BACKLOG = 64  # frames a stream may fall behind before it is cut off (it then reconnects)
KEEPALIVE = b": keep-alive\n\n"
RESYNC = b"event: resync\ndata: {}\n\n"


class EventData(msgspec.Struct, rename="camel"):
    user_id: int
    version: int
    kind: str


def sse_frame(change: Change) -> bytes:
    data = msgspec.json.encode(EventData(change.user_id, change.version, change.kind))
    return b"id: %d\nevent: avatar-%d\ndata: %s\n\n" % (change.event_id, change.user_id, data)


def frame_event_id(frame: bytes) -> int:
    """The id of a frame made by `sse_frame` (b"id: 42\\n...")."""
    return int(frame[4 : frame.index(b"\n", 4)])


def opening_frames(replay: Replay) -> bytes:
    """Missed events (or a resync), then `sync-ready` carrying the retry hint and the tab's id.

    The id always goes out, so a tab that reconnects says where it was even when no event came.
    """
    missed = b"".join(sse_frame(change) for change in replay.changes)
    if replay.resync:
        missed += RESYNC
    ready = b'retry: %d\nid: %d\nevent: sync-ready\ndata: {"lastEventId":%d}\n\n' % (
        RETRY_MS,
        replay.last_event_id,
        replay.last_event_id,
    )
    return missed + ready


class LiveSubscriber(Subscriber):
    """One stream's queue, lean because thousands are open at once: a list and, while the
    stream waits, one future. (Subscriber's asyncio.Queue is four deques, ~3 KB a stream.)

    It never blocks a publisher: a stream more than `max_backlog` frames behind is closed,
    and its tab reconnects and replays. None, the plugin's "stop", closes it too.
    """

    def __init__(
        self,
        plugin: ChannelsPlugin,
        max_backlog: int | None = None,
        backlog_strategy: BacklogStrategy = "backoff",
    ) -> None:
        # Not Subscriber.__init__, which makes the queue; these are what its methods use.
        self._task = None
        self._plugin = plugin
        self._backlog = max_backlog or BACKLOG
        self._items: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False

    def put_nowait(self, item: bytes | None) -> bool:
        if item is None or len(self._items) >= self._backlog:
            self.closed = True
        else:
            self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return not self.closed

    async def put(self, item: bytes | None) -> None:
        self.put_nowait(item)

    async def next(self) -> bytes | None:
        """The next frame, or None once the stream should end."""
        while not self._items and not self.closed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return None if self.closed else self._items.pop(0)

    async def iter_events(self) -> AsyncGenerator[bytes, None]:
        while (item := await self.next()) is not None:
            yield item

    @property
    def qsize(self) -> int:
        return len(self._items)

    def close(self) -> None:
        self.put_nowait(None)


class PrefixedPubSubBackend(RedisChannelsPubSubBackend):
    """Redis pub/sub with the deployment's prefix on every channel name.

    Litestar's pub/sub backend takes a key_prefix but publishes and subscribes to the bare
    channel names, so deployments (and test runs) sharing one Redis would hear each other.
    """

    def __init__(self, *, redis: Redis, prefix: str) -> None:
        super().__init__(redis=redis, key_prefix=prefix)
        self._prefix = f"{prefix}:"

    async def subscribe(self, channels: Iterable[str]) -> None:
        await super().subscribe([self._prefix + channel for channel in channels])

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        await super().unsubscribe([self._prefix + channel for channel in channels])

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        await super().publish(data, [self._prefix + channel for channel in channels])

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        async for channel, data in super().stream_events():
            yield channel.removeprefix(self._prefix), data


def channels_backend(settings: Settings, redis: Redis | None = None) -> ChannelsBackend:
    if settings.redis_url:
        redis = redis or Redis.from_url(settings.redis_url)
        return PrefixedPubSubBackend(redis=redis, prefix=f"{settings.redis_prefix}:channels")
    return MemoryChannelsBackend()


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=channels_backend(settings),
        channels=[CHANNEL],
        subscriber_max_backlog=BACKLOG,
        subscriber_class=LiveSubscriber,
    )


# The loop each started plugin runs on (set by LiveHub.start): sync handlers publish from
# executor threads, and the plugin's asyncio queue may only be touched from its loop.
_loops: weakref.WeakKeyDictionary[ChannelsPlugin, asyncio.AbstractEventLoop] = (
    weakref.WeakKeyDictionary()
)


def bind_loop(channels: ChannelsPlugin, loop: asyncio.AbstractEventLoop | None) -> None:
    if loop is None:
        _loops.pop(channels, None)
    else:
        _loops[channels] = loop


def publish_change(channels: ChannelsPlugin, change: Change) -> None:
    """Call after the change's transaction has committed, never before. Any thread may call."""
    frame = sse_frame(change)
    loop = _loops.get(channels)
    if loop is not None and not _running_in(loop):
        loop.call_soon_threadsafe(channels.publish, frame, CHANNEL)
    else:
        channels.publish(frame, CHANNEL)


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def publish_outside_app(settings: Settings, change: Change) -> bool:
    """Publish from a process that runs no app (the CLI). Only Redis reaches the servers.

    Without Redis, open tabs still catch up: on their next page load, on being shown again,
    or in the fallback sync while their stream is down. Returns whether it was sent.
    """
    if not settings.redis_url:
        return False

    async def send(redis: Redis) -> None:
        try:
            await channels_backend(settings, redis).publish(sse_frame(change), [CHANNEL])
        finally:
            await redis.aclose()

    asyncio.run(send(Redis.from_url(settings.redis_url)))
    return True
