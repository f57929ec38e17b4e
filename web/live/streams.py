"""Who listens: the process's open /events streams, the cap on streams per client address, and
the fan-out of each delivered frame to all of them.

A stream is its queue (web/live/channel.py's `LiveSubscriber`) and the `sync_sessions` row it
will be saved as (web/live/upkeep.py writes the rows). Nothing here awaits: the fan-out puts the
same bytes object into every queue and returns, so one slow tab never holds up the others (its
queue overflows and it is cut off instead).
"""

from __future__ import annotations

from collections.abc import Callable

from web.live.channel import KEEPALIVE, LiveSubscriber, private_to
from web.services.sync_sessions import LiveSession


class Stream:
    """One open /events response: its queue and the row it will be saved as."""

    __slots__ = ("saved", "subscriber", "tab")

    def __init__(self, subscriber: LiveSubscriber, tab: LiveSession) -> None:
        self.subscriber = subscriber
        self.tab = tab
        self.saved = False


class StreamRegistry:
    """The open streams, the streams ended since their rows were last written, and what else
    hears every frame (the read cache)."""

    def __init__(self) -> None:
        self.streams: set[Stream] = set()
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

    def add(self, tab: LiveSession) -> Stream:
        """A new stream, sent every frame from now on."""
        stream = Stream(LiveSubscriber(), tab)
        self.streams.add(stream)
        return stream

    def discard(self, stream: Stream) -> None:
        """Forget a stream that never opened: it leaves no row behind."""
        self.streams.discard(stream)

    def close(self, stream: Stream) -> None:
        """Forget an ended stream; its row is closed on the next save."""
        if stream in self.streams:
            self.streams.remove(stream)
            self._ended.append(stream)

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
        """The fan-out: the same bytes into every stream's queue, nothing awaited; a member's
        private frame (their tokens) into their own streams only."""
        for watcher in self._watchers:
            watcher(frame)
        if (owner := private_to(frame)) is not None:
            for stream in self.streams:
                if stream.tab.viewer_id == owner:
                    stream.subscriber.put_nowait(frame)
            return
        for stream in self.streams:
            stream.subscriber.put_nowait(frame)

    def keep_alive(self) -> None:
        for stream in self.streams:
            stream.subscriber.put_nowait(KEEPALIVE)

    def drain(self) -> None:
        """End every stream (their tabs reconnect, elsewhere or after the restart) and open none."""
        self.draining = True
        for stream in list(self.streams):
            stream.subscriber.close()
