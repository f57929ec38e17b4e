"""Who listens: the process's open /events streams, the cap on streams per client address, the
members each stream follows, and the fan-out of each delivered frame to the streams that follow
its member.

A stream is its queue (web/live/channel.py's `LiveSubscriber`), the members it follows and the
`sync_sessions` row it will be saved as (web/live/upkeep.py writes the rows). The registry keeps
an index from each member to the streams following them, so a change costs the streams that
watch its member, however many others are open. Nothing here awaits: the fan-out puts the same
bytes object into each of those queues and returns (a queue whose stream waits with nothing
queued writes it to the socket at once when the socket takes it: web/live/channel.py), so one
slow tab never holds up the others (its queue overflows and it is cut off instead).
"""

from __future__ import annotations

from collections.abc import Callable

from web.live.channel import (
    KEEPALIVE,
    LiveSubscriber,
    frame_member_id,
    private_to,
    subscribed_frame,
)
from web.services.sync_sessions import LiveSession


class Stream:
    """One open /events response: its queue, the members it follows (a sorted tuple: small, as
    thousands are open) and the number of the set they came in, and the row it will be saved as.
    """

    __slots__ = ("members", "saved", "seq", "subscriber", "tab")

    def __init__(self, subscriber: LiveSubscriber, tab: LiveSession) -> None:
        self.subscriber = subscriber
        self.tab = tab
        self.members: tuple[int, ...] = ()
        self.seq = 0
        self.saved = False


class StreamRegistry:
    """The open streams, the streams ended since their rows were last written, and what else
    hears every frame (the read cache)."""

    def __init__(self) -> None:
        self.streams: set[Stream] = set()
        self.by_id: dict[str, Stream] = {}  # by the id the stream's tab names it with
        self.topics: dict[int, set[Stream]] = {}  # member: the streams following them
        self.per_client: dict[str, int] = {}  # open streams per client address (the cap)
        self.draining = False  # the server is stopping: no stream is opened
        self._ended: list[Stream] = []  # closed since the last save: their rows are closed then
        self._watchers: list[Callable[[bytes], None]] = []

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

    def add(self, tab: LiveSession, members: frozenset[int], seq: int = 0) -> Stream:
        """A new stream, sent every frame about `members` (its set number `seq`) and every
        resync from now on."""
        stream = Stream(LiveSubscriber(), tab)
        stream.seq = seq
        self.streams.add(stream)
        self.by_id[tab.id] = stream
        self._follow(stream, members)
        return stream

    def resubscribe(self, stream: Stream, members: frozenset[int], seq: int) -> bool:
        """Make `members` the stream's set number `seq`, unless it already has a later one (two
        changes may arrive out of order through two processes); the stream is told when it is
        in force. The cost is the members that come and go."""
        if seq <= stream.seq or stream not in self.streams:
            return False
        stream.seq = seq
        self._follow(stream, members)
        stream.subscriber.put_nowait(subscribed_frame(seq))
        return True

    def discard(self, stream: Stream) -> None:
        """Forget a stream that never opened: it leaves no row behind."""
        if stream in self.streams:
            self._forget(stream)

    def close(self, stream: Stream) -> None:
        """Forget an ended stream; its row is closed on the next save."""
        if stream in self.streams:
            self._forget(stream)
            self._ended.append(stream)

    def _forget(self, stream: Stream) -> None:
        self.streams.remove(stream)
        del self.by_id[stream.tab.id]
        self._follow(stream, frozenset())

    def _follow(self, stream: Stream, members: frozenset[int]) -> None:
        before = frozenset(stream.members)
        topics = self.topics
        for member in before - members:
            watchers = topics[member]
            watchers.discard(stream)
            if not watchers:
                del topics[member]
        for member in members - before:
            topics.setdefault(member, set()).add(stream)
        stream.members = tuple(sorted(members))

    def take_ended(self) -> list[Stream]:
        """The streams closed since the last call, for their rows to be closed."""
        ended, self._ended = self._ended, []
        return ended

    def put_back(self, ended: list[Stream]) -> None:
        """Ended streams whose rows could not be written: first in line for the next save."""
        self._ended[:0] = ended

    def watch(self, watcher: Callable[[bytes], None]) -> None:
        """Also hand every delivered frame to `watcher` (the read cache: web/caches/reads.py),
        first, on the event loop; it must not block."""
        self._watchers.append(watcher)

    def deliver(self, frame: bytes) -> None:
        """The fan-out: the same bytes into the queue of every stream following the frame's
        member (every stream, for a frame about no one: a resync), nothing awaited; a member's
        private frame (their tokens) into their own streams only, which always follow them."""
        for watcher in self._watchers:
            watcher(frame)
        if (member := frame_member_id(frame)) is None:
            for stream in self.streams:
                stream.subscriber.put_nowait(frame)
            return
        owner = private_to(frame)
        for stream in self.topics.get(member, ()):
            if owner is None or stream.tab.viewer_id == owner:
                stream.subscriber.put_nowait(frame)

    def keep_alive(self) -> None:
        for stream in self.streams:
            stream.subscriber.put_nowait(KEEPALIVE)

    def drain(self) -> None:
        """End every stream (their tabs reconnect, elsewhere or after the restart) and open none."""
        self.draining = True
        for stream in list(self.streams):
            stream.subscriber.close()
