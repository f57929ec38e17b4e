"""Live events: one channel for every avatar change (and every change to a member's token
list), memory or Redis backed, and one for the streams' subscription changes that reach a
process other than the stream's.

A change is encoded once, as the exact SSE frame bytes, and those same bytes go to every stream
that follows its member (a token list's only to its member's own: `private_to`). The process's
hub alone subscribes to the channels; it puts each event, once and in id order
(web/live/feed.py), into the small queue of each stream following the member
(web/live/streams.py). A stream is that queue, the request's own task and one task waiting for
the disconnect; keep-alives come from one process-wide timer through the same queues, so an idle
stream holds no timer. The streams: web/live/events.py, web/live/streams.py and
web/live/subscriptions.py; the Redis transport: web/live/transport.py.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from redis.asyncio import Redis

from web.live.transport import RedisTransport, redis_client
from web.services.commits import Change, Commits
from web.services.sync import TOKENS, Replay
from web.settings import Settings

CHANNEL = "avatars"
CONTROL = "subscriptions"  # a stream's new member set, for the process that holds the stream
RETRY_MS = 1000  # reconnect hint; the htmx SSE extension doubles it per failed attempt
BACKLOG = 64  # frames a stream may fall behind before it is cut off (it then reconnects)
KEEPALIVE = b": keep-alive\n\n"
RESYNC = b"event: resync\ndata: {}\n\n"
_PRIVATE = re.compile(rb"id: \d+\nevent: tokens-(\d+)\n")


class EventData(msgspec.Struct, rename="camel"):
    user_id: int
    version: int
    kind: str


def sse_frame(change: Change) -> bytes:
    """`avatar-42` for a change of member 42's picture, `tokens-42` for one of their API tokens."""
    data = msgspec.json.encode(EventData(change.user_id, change.version, change.kind))
    name = b"tokens" if change.kind == TOKENS else b"avatar"
    return b"id: %d\nevent: %s-%d\ndata: %s\n\n" % (change.event_id, name, change.user_id, data)


def private_to(frame: bytes) -> int | None:
    """The member whose own tabs alone are sent this frame (a `tokens` event: no one else
    needs to know when a member's tokens change or are used), else None: everyone's."""
    match = _PRIVATE.match(frame)
    return int(match[1]) if match else None


def is_sent_to(change: Change, viewer_id: int | None) -> bool:
    """Whether a tab of `viewer_id` is sent this change (as `private_to` decides for frames)."""
    return change.kind != TOKENS or change.user_id == viewer_id


_EVENT = b"\nevent: "


def frame_event_id(frame: bytes) -> int:
    """The id of a frame made by `sse_frame` (b"id: 42\\n...")."""
    return int(frame[4 : frame.index(b"\n", 4)])


def frame_member_id(frame: bytes) -> int | None:
    """The member a frame made by `sse_frame` is about (`avatar-42`, `tokens-42`: 42); None for
    a frame about no one (a resync)."""
    if not frame.startswith(b"id: "):
        return None
    at = frame.index(_EVENT)
    end = frame.index(b"\n", at + 1)
    return int(frame[frame.rindex(b"-", at, end) + 1 : end])


def subscribed_frame(seq: int) -> bytes:
    """Told to a stream once its member set `seq` is in force: from here on it is sent every
    event of those members, so the page checks the ones it added (static/js/live-sync.js)."""
    return b'event: subscribed\ndata: {"seq":%d}\n\n' % seq


def opening_frames(
    replay: Replay, viewer_id: int | None = None, stream_id: str = "", seq: int = 0
) -> bytes:
    """Missed events (or a resync), then `sync-ready` carrying the retry hint, the tab's id, the
    stream's own id (what its subscription changes name: web/live/subscriptions.py) and the
    number of the member set in force (the one its URL gave).

    The id always goes out, so a tab that reconnects says where it was even when no event came.
    """
    missed = b"".join(
        sse_frame(change) for change in replay.changes if is_sent_to(change, viewer_id)
    )
    if replay.resync:
        missed += RESYNC
    last = replay.last_event_id
    stream = b',"stream":"%s","seq":%d' % (stream_id.encode(), seq) if stream_id else b""
    ready = b'retry: %d\nid: %d\nevent: sync-ready\ndata: {"lastEventId":%d%s}\n\n' % (
        RETRY_MS,
        last,
        last,
        stream,
    )
    return missed + ready


class LiveSubscriber:
    """One stream's queue, lean because thousands are open at once: a list and, while the
    stream waits, one future. The hub fills it (StreamRegistry.deliver); the plugin never sees it.

    It never blocks the fan-out: a stream more than `max_backlog` frames behind is closed,
    and its tab reconnects and replays.
    """

    __slots__ = ("_backlog", "_items", "_waiter", "closed", "direct")

    def __init__(self, max_backlog: int = BACKLOG) -> None:
        self._backlog = max_backlog
        self._items: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False
        # Set by the stream while it runs: writes a frame to the socket at once if that needs
        # no wait (web/overrides/send_at_once.py), else says False and the frame is queued.
        self.direct: Callable[[bytes], bool] | None = None

    def put_nowait(self, item: bytes | None) -> bool:
        if item is None or len(self._items) >= self._backlog:
            self.closed = True
        elif self._idle() and self.direct is not None and self.direct(item):
            return True  # written: the stream's task sleeps on, no wake-up to pay for
        else:
            self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return not self.closed

    async def next(self) -> bytes | None:
        """The next frame, or None once the stream should end."""
        while not self._items and not self.closed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return None if self.closed else self._items.pop(0)

    def _idle(self) -> bool:
        """The stream's task waits for a frame, none queued: a frame written now is in order."""
        waiter = self._waiter
        return waiter is not None and not waiter.done() and not self._items and not self.closed

    @property
    def qsize(self) -> int:
        return len(self._items)

    def close(self) -> None:
        self.put_nowait(None)


def transport(settings: Settings) -> ChannelsBackend:
    """Redis pub/sub between processes when REDIS_URL is set, else within this process."""
    if settings.redis_url:
        return redis_transport(settings, redis_client(settings.redis_url))
    return MemoryChannelsBackend()


def redis_transport(settings: Settings, redis: Redis) -> RedisTransport:
    return RedisTransport(redis=redis, prefix=f"{settings.redis_prefix}:channels")


def channels_plugin(backend: ChannelsBackend) -> ChannelsPlugin:
    """The plugin carries frames between the transport and the hub, which alone subscribes (one
    unbounded queue per channel it reads at once: web/live/link.py) and fans out to the streams
    (web/live/streams.py)."""
    return ChannelsPlugin(backend=backend, channels=[CHANNEL, CONTROL])


def publish_outside_app(settings: Settings, change: Change) -> bool:
    """Publish from a process that runs no app (the CLI); never raises.

    Returns whether Redis took it. Either way the servers deliver it: each reads `sync_events`
    at least every CATCH_UP_SECONDS (web/live/feed.py), so a doorbell that never rings (no
    Redis, or Redis down) only delays it.
    """
    if not settings.redis_url:
        return False

    async def send(url: str) -> bool:
        redis = redis_client(url)
        try:
            return await redis_transport(settings, redis).send(sse_frame(change), [CHANNEL])
        finally:
            await redis.aclose()

    return asyncio.run(send(settings.redis_url))


class Doorbell(Commits):
    """The commits of a process that runs no app (the CLI): each change its sessions commit is
    published with `publish_outside_app`, in the committing thread. `told` holds the event ids
    Redis took."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.told: set[int] = set()
        self.on_change(self._ring)

    def _ring(self, change: Change) -> None:
        if publish_outside_app(self.settings, change):
            self.told.add(change.event_id)
