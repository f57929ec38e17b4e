"""The process's open streams: opening one (register, then replay), the fan-out of each event to
all of them (in order and once, through web/live/feed.py), keep-alives, their `sync_sessions`
rows, and ending them all when the server stops.

Everything periodic happens once per process on one timer, never per stream: an idle stream is
a queue and a parked task, and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import threading
import uuid
from collections.abc import Callable
from types import FrameType
from typing import Any

from anyio import to_thread
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.subscriber import Subscriber
from sqlalchemy import Engine

from db.engine import session_scope
from db.types import utcnow
from db.unavailable import unavailable_cause
from web.live.channel import CHANNEL, KEEPALIVE, LiveSubscriber, sse_frame
from web.live.feed import CATCH_UP_SECONDS, EventFeed
from web.live.transport import RedisTransport
from web.services import sync, sync_sessions
from web.services.commits import Change
from web.services.sync import Replay
from web.services.sync_sessions import LiveSession

log = logging.getLogger("ppsync.live")

TICK_SECONDS = 15.0  # keep-alive comment and sync_sessions write, for every stream at once
PRUNE_EVERY = 40  # ticks (10 minutes): drop events past the window, close stale session rows
FREEZE_EVERY = 500  # new streams; see LiveHub._settle
DRAIN_SECONDS = 5.0
CATCH_UP = b""  # put in the hub's own queue: "read the database", never a frame


class Stream:
    """One open /events response: its queue and the row it will be saved as."""

    __slots__ = ("saved", "subscriber", "tab")

    def __init__(self, subscriber: LiveSubscriber, tab: LiveSession) -> None:
        self.subscriber = subscriber
        self.tab = tab
        self.saved = False


class LiveHub:
    def __init__(
        self,
        engine: Engine,
        channels: ChannelsPlugin,
        transport: ChannelsBackend,
        *,
        tick: float = TICK_SECONDS,
    ) -> None:
        self.engine = engine
        self.channels = channels
        self.redis = transport if isinstance(transport, RedisTransport) else None
        self.tick = tick
        self.feed = EventFeed(engine, self.deliver)
        self._inbox: Subscriber | None = None  # the plugin's frames and our CATCH_UPs, in order
        self._catch_up_asked = False
        self._feeding: asyncio.Task[None] | None = None
        self._ringing: asyncio.Task[None] | None = None
        self.streams: set[Stream] = set()
        self.per_client: dict[str, int] = {}  # open streams per client address (the cap)
        self.draining = False
        self._closed: list[Stream] = []
        self._saving = asyncio.Lock()  # one save at a time: the tick's and the shutdown's
        self._unfrozen = 0  # streams opened since the last gc.freeze()
        self._frozen_streams = False
        self._task: asyncio.Task[None] | None = None
        self._restore_signals: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # set by start: publish() needs it
        self._watchers: list[Callable[[bytes], None]] = []

    async def open(
        self, *, viewer_id: int | None, user_agent: str, last_event_id: int | None
    ) -> tuple[Stream, Replay]:
        """Register first, then read what the tab missed: nothing can fall between the two.

        From registration on, the stream is sent every event past the feed's `last` (in order,
        even while a catch-up reads); the replay covers everything up to its own newest id, at
        least that `last`. The stream drops what the replay sent (web/live/events.py).
        """
        tab = LiveSession(uuid.uuid4().hex, viewer_id, user_agent, utcnow(), self.feed.last or 0)
        stream = Stream(LiveSubscriber(), tab)
        self.streams.add(stream)
        try:
            replay = await to_thread.run_sync(self._replay, last_event_id)
        except BaseException:
            self.streams.discard(stream)
            raise
        tab.last_event_id = replay.last_event_id
        self._settle()
        return stream, replay

    def admit(self, address: str, cap: int) -> bool:
        """Count one more stream from `address`, unless it already holds `cap` of them; each
        admitted stream is given back with `leave`."""
        held = self.per_client.get(address, 0)
        if held >= cap:
            return False
        self.per_client[address] = held + 1
        return True

    def leave(self, address: str) -> None:
        held = self.per_client.pop(address, 0) - 1
        if held > 0:
            self.per_client[address] = held

    def watch(self, watcher: Callable[[bytes], None]) -> None:
        """Also hand every delivered frame to `watcher` (the read cache: web/read_cache.py),
        first, on the event loop; it must not block."""
        self._watchers.append(watcher)

    def deliver(self, frame: bytes) -> None:
        """The fan-out: the same bytes into every stream's queue, nothing awaited."""
        for watcher in self._watchers:
            watcher(frame)
        for stream in self.streams:
            stream.subscriber.put_nowait(frame)

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

    def _settle(self) -> None:
        """Every FREEZE_EVERY new streams, take what they hold out of the collector's walks.

        A stream lives for hours, so its objects end up in the oldest generation, and every full
        collection walks them all: with 5,000 streams that is a 0.2 s pause, and a burst of
        connections (after a deploy) sets off one after another, right when changes fan out.
        Frozen objects are never collected, so `_reclaim` undoes this now and then.
        """
        self._unfrozen += 1
        if self._unfrozen >= FREEZE_EVERY:
            self._unfrozen = 0
            self._frozen_streams = True
            gc.freeze()

    def _reclaim(self) -> None:
        # Cycles left by closed streams wait in the frozen generation: one full collection,
        # at a quiet moment of our choosing, every maintenance tick that followed a freeze.
        if self._frozen_streams:
            self._frozen_streams = False
            gc.unfreeze()
            gc.collect()
            gc.freeze()

    def close(self, stream: Stream) -> None:
        if stream in self.streams:
            self.streams.remove(stream)
            self._closed.append(stream)

    def keep_alive(self) -> None:
        for stream in self.streams:
            stream.subscriber.put_nowait(KEEPALIVE)

    def drain(self) -> None:
        """End every stream (their tabs reconnect, elsewhere or after the restart) and open none."""
        self.draining = True
        for stream in list(self.streams):
            stream.subscriber.close()

    async def flush(self) -> None:
        """Save new tabs, touch live ones, close ended ones: one transaction for all of them."""
        async with self._saving:
            await self._flush()

    async def _flush(self) -> None:
        # A visitor's tab (no member) is never saved: anonymous streams cost no row, however
        # many are opened; /admin/sync lists members' tabs.
        closed = [s for s in self._closed if s.tab.viewer_id is not None]
        self._closed = []
        pending = [s for s in (*self.streams, *closed) if not s.saved and s.tab.viewer_id]
        live = [s.tab for s in self.streams if s.saved]
        try:
            await to_thread.run_sync(
                self._save, [s.tab for s in pending], live, [s.tab for s in closed]
            )
        except BaseException:
            self._closed[:0] = closed  # saved on the next tick instead
            raise
        for stream in pending:
            stream.saved = True

    async def start(self) -> None:
        self.draining = False
        self._saving = asyncio.Lock()  # this loop's (tests start an app on more than one)
        self._loop = asyncio.get_running_loop()
        # Subscribed before the feed reads the newest id: a change in between is a duplicate.
        self._inbox = await self.channels.subscribe(CHANNEL)
        self._catch_up_asked = False
        await self.feed.start()
        if self.redis is not None:
            self.redis.on_subscribed = self.catch_up_soon
        self._feeding = asyncio.create_task(self._feed_streams())
        self._ringing = asyncio.create_task(self._ring_every(CATCH_UP_SECONDS))
        self._task = asyncio.create_task(self._run())
        self._restore_signals = _drain_on_signals(self.drain)

    async def stop(self) -> None:
        if self._restore_signals:
            self._restore_signals()
        self.drain()
        for _ in range(int(DRAIN_SECONDS / 0.05)):
            if not self.streams:
                break
            await asyncio.sleep(0.05)
        for task in (self._task, self._ringing, self._feeding):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.redis is not None:
            self.redis.on_subscribed = None
        if self._inbox is not None:
            await self.channels.unsubscribe(self._inbox, CHANNEL)
            self._inbox = None
        await self.flush()
        self._loop = None

    def publish(self, change: Change) -> None:
        """Call after the change's transaction has committed, never before. Any thread may
        call: handlers run in worker threads, and the plugin's queue is the hub's loop's."""
        frame = sse_frame(change)
        loop = self._loop
        if loop is not None and not _running_in(loop):
            loop.call_soon_threadsafe(self.channels.publish, frame, CHANNEL)
        else:
            self.channels.publish(frame, CHANNEL)

    async def _feed_streams(self) -> None:
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

    async def _ring_every(self, seconds: float) -> None:
        """The safety net: doorbells that never rang (Redis away) are caught up within this."""
        while True:
            await asyncio.sleep(seconds)
            self.catch_up_soon()

    async def _run(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(self.tick)
            ticks += 1
            self.keep_alive()
            try:
                await self.flush()
                if ticks % PRUNE_EVERY == 1:
                    await to_thread.run_sync(self._prune)
                    self._reclaim()
            except Exception as error:  # the database may be away for a while; streams carry on
                if (cause := unavailable_cause(error)) is None:
                    log.exception("live: could not save sync sessions")
                else:
                    log.warning(
                        "live: could not save sync sessions: database unavailable: %s", cause
                    )

    def _replay(self, last_event_id: int | None) -> Replay:
        with session_scope(self.engine) as session:
            return sync.replay_since(session, last_event_id)

    def _save(
        self, opened: list[LiveSession], live: list[LiveSession], closed: list[LiveSession]
    ) -> None:
        with session_scope(self.engine) as session:
            sync_sessions.save_sessions(session, opened=opened, live=live, closed=closed)

    def _prune(self) -> None:
        with session_scope(self.engine) as session:
            sync.prune_events(session)
            sync_sessions.close_stale_sessions(session)


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def live_hub(app: Litestar) -> LiveHub:
    hub: LiveHub = app.state["live"]
    return hub


def _drain_on_signals(drain: Callable[[], None]) -> Callable[[], None] | None:
    """Uvicorn waits for open responses to end before it shuts down, and an event stream never
    ends by itself: run `drain` first, then the server's own handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {
        sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)
    }

    def handler(sig: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(drain)
        chained = previous[sig]
        if callable(chained):
            chained(sig, frame)

    installed = [sig for sig, before in previous.items() if callable(before)]
    for sig in installed:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig in installed:
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous[sig])

    return restore
