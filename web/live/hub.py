"""The process's live hub: the one object web/app.py builds for live sync, and what the rest of
the app talks to (`publish`, `open` and the stream's cap for web/live/events.py, `watch` for the
read cache, `events_state` for /readyz). It is made of parts, each in its own module:

- web/live/streams.py: who listens: the open streams, their cap per client address, the members
  each follows, the fan-out;
- web/live/link.py: the broker link: the channels plugin subscriptions, publishing, catch-ups,
  and subscription changes for streams held by another process;
- web/live/feed.py: each event once and in id order, the database filling any gap;
- web/live/upkeep.py: the one timer: keep-alives, the streams' `sync_sessions` rows, pruning;
- web/live/freezer.py: long-lived streams kept out of the garbage collector's walks;
- web/live/shutdown.py: ending the streams first when the server is told to stop.

The hub itself opens a stream, the one step that needs both the registry and the database,
changes what a stream follows wherever its process is, and starts and stops the parts in order.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Literal

import msgspec
from anyio import to_thread
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from sqlalchemy import Engine

from db.engine import session_scope
from db.types import utcnow
from web.live.channel import sse_frame
from web.live.feed import EventFeed
from web.live.freezer import Freezer
from web.live.link import BrokerLink
from web.live.shutdown import drain_on_signals
from web.live.streams import Stream, StreamRegistry
from web.live.topics import Subscription
from web.live.upkeep import TICK_SECONDS, Upkeep
from web.services import sync
from web.services.commits import Change
from web.services.sync import Replay
from web.services.sync_sessions import LiveSession

DRAIN_SECONDS = 5.0  # how long stop() waits for drained streams to end

# What became of a subscription change: in force here, sent to the other processes, or neither
# (no process can hold the stream, or Redis is away): the tab then reconnects with its set.
Outcome = Literal["applied", "forwarded", "unknown", "unsent"]


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
        self.tick = tick  # read by start(): a test may shorten it before
        self.registry = StreamRegistry()
        self.freezer = Freezer()
        self.link = BrokerLink(channels, transport, EventFeed(engine, self.registry.deliver))
        self.link.on_control = self._heard
        self.upkeep = Upkeep(engine, self.registry, self.freezer)
        self._restore_signals: Callable[[], None] | None = None

    async def open(
        self,
        *,
        viewer_id: int | None,
        user_agent: str,
        last_event_id: int | None,
        members: frozenset[int] = frozenset(),
        seq: int = 0,
    ) -> tuple[Stream, Replay]:
        """Register first, then read what the tab missed: nothing can fall between the two.

        From registration on, the stream is sent every event of its members (the viewer always
        among them) past the feed's `last` (in order, even while a catch-up reads); the replay
        covers their events up to its own newest id, at least that `last`. The stream drops
        what the replay sent (web/live/events.py). `seq` numbers the set: a later change wins.
        """
        tab = LiveSession(uuid.uuid4().hex, viewer_id, user_agent, utcnow(), self.feed.last or 0)
        stream = self.registry.add(tab, _with_viewer(members, viewer_id), seq)
        try:
            replay = await to_thread.run_sync(self._replay, last_event_id, stream.members)
        except BaseException:
            self.registry.discard(stream)
            raise
        tab.last_event_id = replay.last_event_id
        self.freezer.settle()
        return stream, replay

    async def resubscribe(self, change: Subscription) -> Outcome:
        """Make `change` the set its stream follows: here, if this process holds the stream,
        else in whichever process does, told through Redis (web/live/link.py)."""
        if (stream := self.registry.by_id.get(change.stream)) is not None:
            self._apply(stream, change)
            return "applied"
        if self.link.redis is None:
            return "unknown"
        sent = await self.link.forward(msgspec.json.encode(change))
        return "forwarded" if sent else "unsent"

    def _heard(self, message: bytes) -> None:
        """Another process's forwarded change: applied if the stream is here, else not ours."""
        change = msgspec.json.decode(message, type=Subscription)
        if (stream := self.registry.by_id.get(change.stream)) is not None:
            self._apply(stream, change)

    def _apply(self, stream: Stream, change: Subscription) -> None:
        members = _with_viewer(frozenset(change.members), stream.tab.viewer_id)
        self.registry.resubscribe(stream, members, change.seq)

    def publish(self, change: Change) -> None:
        """Call after the change's transaction has committed, never before; from any thread.
        The event is encoded here, once: every stream following the member is sent these same
        bytes."""
        self.link.publish(sse_frame(change))

    # The registry's side, for web/live/events.py and the tests.

    @property
    def streams(self) -> set[Stream]:
        return self.registry.streams

    @property
    def per_client(self) -> dict[str, int]:
        return self.registry.per_client

    @property
    def draining(self) -> bool:
        return self.registry.draining

    def admit(self, address: str, cap: int) -> bool:
        return self.registry.admit(address, cap)

    def leave(self, address: str) -> None:
        self.registry.leave(address)

    def close(self, stream: Stream) -> None:
        if stream in self.registry.streams:
            self.freezer.release()
        self.registry.close(stream)

    def drain(self) -> None:
        self.registry.drain()

    def watch(self, watcher: Callable[[bytes], None]) -> None:
        self.registry.watch(watcher)

    # The broker's side.

    @property
    def feed(self) -> EventFeed:
        return self.link.feed

    @property
    def events_state(self) -> str:
        return self.link.events_state

    def catch_up_soon(self) -> None:
        self.link.catch_up_soon()

    async def flush(self) -> None:
        await self.upkeep.flush()

    async def start(self) -> None:
        self.registry.draining = False
        await self.link.start()
        self.upkeep.start(self.tick)
        self._restore_signals = drain_on_signals(self.drain)

    async def stop(self) -> None:
        if self._restore_signals:
            self._restore_signals()
        self.drain()
        for _ in range(int(DRAIN_SECONDS / 0.05)):
            if not self.streams:
                break
            await asyncio.sleep(0.05)
        await self.upkeep.stop()
        await self.link.stop()
        await self.upkeep.flush()  # the ended streams' rows: closed
        self.link.loop = None  # publish() from here on goes straight to the plugin

    def _replay(self, last_event_id: int | None, members: tuple[int, ...]) -> Replay:
        with session_scope(self.engine) as session:
            return sync.replay_since(session, last_event_id, members=members)


def _with_viewer(members: frozenset[int], viewer_id: int | None) -> frozenset[int]:
    """The viewer follows their own member always: their own pages change with it."""
    return members if viewer_id is None else members | {viewer_id}


def live_hub(app: Litestar) -> LiveHub:
    hub: LiveHub = app.state["live"]
    return hub
