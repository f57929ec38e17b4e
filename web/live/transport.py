"""The Redis pub/sub transport of live events: it never dies, and it is only the doorbell.

Litestar's channels plugin runs one task that awaits `publish` and one that iterates
`stream_events`, and restarts neither: with its own Redis backend, the first ConnectionError
ends them for the life of the process. This backend never lets one out. `publish` logs and
drops (the hub's catch-up from `sync_events` delivers what was dropped); `stream_events`
reconnects with capped exponential backoff, subscribes again, and says so through
`on_subscribed`, so the hub reads what it missed. An outage is logged once when it starts and
once when it ends, never per retry; `connected` shows it to /readyz.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Iterable

from litestar.channels.backends.base import ChannelsBackend
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger("ppsync.live")

BACKOFF_MIN = 0.1  # seconds before the first reconnect attempt; doubled per failure
BACKOFF_MAX = 5.0  # a restarted Redis is heard within this, at most
READ_TIMEOUT = 1.0  # how long one read waits before it checks its subscriptions again


def redis_client(url: str) -> Redis:
    """A client that fails at once when Redis is away: the transport does its own backoff, and
    a publish must never hold up the plugin's queue. One immediate retry, for the pooled
    connection a restarted Redis closed (that retry's connect succeeds or is refused at once)."""
    return Redis.from_url(
        url,
        retry=Retry(NoBackoff(), 1),
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,  # a silent half-open connection is found within this
    )


class RedisTransport(ChannelsBackend):
    """Redis pub/sub under the deployment's prefix (`{prefix}:avatars`), so deployments and test
    runs that share one Redis never hear each other."""

    def __init__(self, *, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:"
        self._channels: set[str] = set()
        self._pubsub: PubSub | None = None
        self._wanted: asyncio.Event | None = None  # made on the running loop
        self._closed = False
        self._publish_failing = False
        self._outage_told = False
        self.connected = False
        self.on_subscribed: Callable[[], None] | None = None

    async def on_startup(self) -> None:
        self._closed = False
        self._wanted = None  # an asyncio.Event belongs to one loop; tests start apps on several

    async def on_shutdown(self) -> None:
        self._closed = True
        self.connected = False
        await self._drop_pubsub()
        await self._redis.aclose()

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        await self.send(data, channels)

    async def send(self, data: bytes, channels: Iterable[str]) -> bool:
        """Publish; never raises. False when Redis could not be reached (logged once an outage)."""
        try:
            for channel in channels:
                await self._redis.publish(self._prefix + channel, data)
        except Exception as error:  # any failure: the database catch-up covers it
            if not self._publish_failing:  # once an outage
                self._publish_failing = True
                log.warning("live: cannot publish to Redis (%s); catching up from the db", error)
            return False
        if self._publish_failing:
            self._publish_failing = False
            log.info("live: publishing to Redis again")
        return True

    async def subscribe(self, channels: Iterable[str]) -> None:
        added = set(channels) - self._channels
        self._channels |= added
        self._event().set()
        if added and self._pubsub is not None and self.connected:
            # Errors surface in stream_events' read, which reconnects and subscribes to all.
            with contextlib.suppress(Exception):
                await self._pubsub.subscribe(*(self._prefix + c for c in added))

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        removed = self._channels & set(channels)
        self._channels -= removed
        if removed and self._pubsub is not None and self.connected:
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(*(self._prefix + c for c in removed))

    async def stream_events(self) -> AsyncGenerator[tuple[str, bytes], None]:
        delay = BACKOFF_MIN
        while not self._closed:
            await self._event().wait()
            try:
                pubsub = await self._connect()
                while self._channels:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=READ_TIMEOUT
                    )
                    delay = BACKOFF_MIN  # after a read: a Redis that accepts then drops backs off
                    if message is not None and message["type"] == "message":
                        channel = message["channel"].decode().removeprefix(self._prefix)
                        if channel in self._channels:
                            yield channel, message["data"]
                self._event().clear()
            except Exception as error:  # whatever it was, reconnect
                self._lost(error)
                await self._drop_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        return []  # pub/sub keeps no history: sync_events does (the feed reads it)

    async def _connect(self) -> PubSub:
        if self._pubsub is not None and self.connected:
            return self._pubsub
        await self._drop_pubsub()
        self._pubsub = self._redis.pubsub()
        await self._pubsub.subscribe(*(self._prefix + c for c in self._channels))
        self.connected = True
        if self._outage_told:
            self._outage_told = False
            log.info("live: Redis is back; subscribed again, catching up from the database")
        if self.on_subscribed is not None:
            self.on_subscribed()  # events published while we were away: read from the database
        return self._pubsub

    def _lost(self, error: Exception) -> None:
        was_connected, self.connected = self.connected, False
        if not self._outage_told:  # once an outage, not once a retry
            self._outage_told = True
            what = "lost the connection to" if was_connected else "cannot reach"
            log.warning("live: %s Redis (%s); reconnecting with backoff", what, error)

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _event(self) -> asyncio.Event:
        if self._wanted is None:
            self._wanted = asyncio.Event()
        return self._wanted
