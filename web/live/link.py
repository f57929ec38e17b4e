"""The hub's link to the broker: its subscriptions to the channels plugin's `avatars` channel
(memory, or Redis through web/live/transport.py) and `subscriptions` channel, and publishing on
them.

One task reads the subscription and hands each frame to the feed (web/live/feed.py), which
delivers events once and in order. Catch-ups (the feed's database read) go through the same
queue, as an empty frame, so they run on that one task, between frames, never two at once.
A catch-up is asked for when the Redis transport subscribes again after an outage and every
CATCH_UP_SECONDS (the safety net for doorbells that never rang).

The `subscriptions` channel carries a stream's new member set from the process a tab's POST
reached to the process that holds its stream (web/live/subscriptions.py); it is read by a task
of its own, as its messages need no order with the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.subscriber import Subscriber

from web.live.channel import CHANNEL, CONTROL
from web.live.feed import CATCH_UP_SECONDS, EventFeed
from web.live.transport import RedisTransport

log = logging.getLogger("ppsync.live")

CATCH_UP = b""  # put in the link's own queue: "read the database", never a frame


class BrokerLink:
    def __init__(
        self, channels: ChannelsPlugin, transport: ChannelsBackend, feed: EventFeed
    ) -> None:
        self.channels = channels
        self.redis = transport if isinstance(transport, RedisTransport) else None
        self.feed = feed
        self.loop: asyncio.AbstractEventLoop | None = None  # set by start: publish() needs it
        self._inbox: Subscriber | None = None  # the plugin's frames and our CATCH_UPs, in order
        self._catch_up_asked = False
        self._feeding: asyncio.Task[None] | None = None
        self._ringing: asyncio.Task[None] | None = None
        self._control: Subscriber | None = None
        self._controlling: asyncio.Task[None] | None = None
        self.on_control: Callable[[bytes], None] = lambda _message: None  # set by the hub

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        # Subscribed before the feed reads the newest id: a change in between is a duplicate.
        self._inbox = await self.channels.subscribe(CHANNEL)
        self._catch_up_asked = False
        await self.feed.start()
        if self.redis is not None:
            self.redis.on_subscribed = self.catch_up_soon
        self._feeding = asyncio.create_task(self._feed())
        self._ringing = asyncio.create_task(self._ring_every(CATCH_UP_SECONDS))
        self._control = await self.channels.subscribe(CONTROL)
        self._controlling = asyncio.create_task(self._hear_control(self._control))

    async def stop(self) -> None:
        """Stop reading and let go of the subscription. `loop` stays set: publish() may still
        be called from worker threads while the hub writes its last rows."""
        for task in (self._ringing, self._feeding, self._controlling):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.redis is not None:
            self.redis.on_subscribed = None
        if self._inbox is not None:
            await self.channels.unsubscribe(self._inbox, CHANNEL)
            self._inbox = None
        if self._control is not None:
            await self.channels.unsubscribe(self._control, CONTROL)
            self._control = None

    def publish(self, frame: bytes) -> None:
        """Any thread may call: handlers run in worker threads, and the plugin's queue is the
        loop's."""
        loop = self.loop
        if loop is not None and not _running_in(loop):
            loop.call_soon_threadsafe(self.channels.publish, frame, CHANNEL)
        else:
            self.channels.publish(frame, CHANNEL)

    async def forward(self, message: bytes) -> bool:
        """Tell every process a stream's new member set; False when no other process can hear
        it (no Redis: this process is the only one that could hold the stream) or Redis is
        away."""
        if self.redis is None:
            return False
        return await self.redis.send(message, [CONTROL])

    def catch_up_soon(self) -> None:
        """Ask the feed to read the database, after whatever is queued (asked twice: once)."""
        if self._inbox is not None and not self._catch_up_asked:
            self._catch_up_asked = True
            self._inbox.put_nowait(CATCH_UP)

    @property
    def events_state(self) -> str:
        """For /readyz: "ok", "reconnecting" (Redis away: changes still arrive, from the
        database, within CATCH_UP_SECONDS) or "stopped" (no events are delivered)."""
        if self._feeding is None or self._feeding.done():
            return "stopped"
        if self.redis is not None and not self.redis.connected:
            return "reconnecting"
        return "ok"

    async def _feed(self) -> None:
        """The one task that calls the feed: frames and catch-ups, one at a time, in order."""
        assert self._inbox is not None
        async for item in self._inbox.iter_events():
            try:
                if item == CATCH_UP:
                    self._catch_up_asked = False
                    await self.feed.catch_up()
                else:
                    await self.feed.arrive(item)
            except Exception:  # a bug must not end live sync: logged, and the next item runs
                log.exception("live: could not deliver an event")
        log.warning("live: event feed stopped")

    async def _hear_control(self, inbox: Subscriber) -> None:
        async for message in inbox.iter_events():
            try:
                self.on_control(message)
            except Exception:  # a bug must not end the channel: logged, and the next one runs
                log.exception("live: could not apply a subscription change")

    async def _ring_every(self, seconds: float) -> None:
        """The safety net: doorbells that never rang (Redis away) are caught up within this."""
        while True:
            await asyncio.sleep(seconds)
            self.catch_up_soon()


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
