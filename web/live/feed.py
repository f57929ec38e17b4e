"""Each event once, in id order, to this process's streams: the database is the truth, the
transport (Redis or memory) only the doorbell.

The feed remembers the last event id it delivered. A frame with the next id is delivered as it
came; one at or below it is a duplicate; one further on means frames were lost or reordered, so
the feed reads what lies between from `sync_events` (ids commit in id order, see
`web.services.sync.record_change`). A catch-up, the same read, also runs when the transport
(re)subscribes and every CATCH_UP_SECONDS, for doorbells that never rang (Redis down, or a
publish from the CLI while Redis was away).

One task calls the feed (BrokerLink._feed in web/live/link.py), so catch-ups never overlap and
nothing is delivered while one reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from anyio import to_thread
from sqlalchemy import Engine, func
from sqlmodel import select

from db.engine import session_scope
from db.models import SyncEvent
from web.live.channel import RESYNC, frame_event_id, sse_frame
from web.services import sync
from web.services.sync import Replay

log = logging.getLogger("ppsync.live")

# A change whose doorbell was lost reaches open tabs within this. Short next to the tabs' own
# 30 s fallback sync, long enough that the one indexed read it costs (a process, every 5 s) is
# nothing beside the page loads it replaces; Redis delivers in milliseconds when it is up.
CATCH_UP_SECONDS = 5.0


class EventFeed:
    def __init__(self, engine: Engine, deliver: Callable[[bytes], None]) -> None:
        self.engine = engine
        self.deliver = deliver  # the same bytes to every stream
        self.last: int | None = None  # None: the database could not say yet
        self._reading_fails = False

    async def start(self) -> None:
        """Start from the newest committed event: streams replay anything older themselves."""
        self.last = None
        await self.catch_up()

    async def arrive(self, frame: bytes) -> None:
        event_id = frame_event_id(frame)
        if self.last is None or event_id == self.last + 1:
            self.last = event_id
            self.deliver(frame)
        elif event_id > self.last:  # a gap: what lies between is in the database
            await self.catch_up()
        # else: delivered already (by a catch-up, or Redis said it twice)

    async def catch_up(self) -> None:
        """Deliver every event past `last` from the database. A failed read delivers nothing
        and keeps `last`: the next catch-up tries again."""
        try:
            replay = await to_thread.run_sync(self._read, self.last)
        except Exception as error:  # the database may be away for a while
            if not self._reading_fails:
                self._reading_fails = True
                log.warning("live: cannot read sync_events (%s); retrying", error)
            return
        if self._reading_fails:
            self._reading_fails = False
            log.info("live: reading sync_events again")
        for change in replay.changes:
            self.deliver(sse_frame(change))
        if replay.resync:  # too far behind (or the database was reset): tabs re-check all
            self.deliver(RESYNC)
        self.last = replay.last_event_id

    def _read(self, last: int | None) -> Replay:
        with session_scope(self.engine) as session:
            if last is None:
                newest = session.scalar(select(func.max(SyncEvent.id)))
                return Replay((), newest or 0)
            return sync.replay_since(session, last)
