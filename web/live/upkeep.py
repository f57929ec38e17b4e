"""The process's periodic work on one timer, never one per stream: the keep-alive comment to
every stream, the streams' `sync_sessions` rows, and pruning.

Every TICK_SECONDS the rows are written in one transaction: new tabs inserted, live ones
touched, ended ones closed (the fan-out writes nothing). Every PRUNE_EVERY ticks, events past
the kept window are dropped, rows of processes that stopped without saying so are closed, and
the frozen streams' garbage is collected if enough of them ended (web/live/freezer.py). The
database may be away for a while: the timer logs it and carries on, and the streams never
notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from anyio import to_thread
from sqlalchemy import Engine

from db.engine import session_scope
from db.unavailable import unavailable_cause
from web.live.freezer import Freezer
from web.live.streams import StreamRegistry
from web.services import sync, sync_sessions
from web.services.sync_sessions import LiveSession

log = logging.getLogger("ppsync.live")

TICK_SECONDS = 15.0  # keep-alive comment and sync_sessions write, for every stream at once
PRUNE_EVERY = 40  # ticks (10 minutes): drop events past the window, close stale session rows


class Upkeep:
    def __init__(self, engine: Engine, registry: StreamRegistry, freezer: Freezer) -> None:
        self.engine = engine
        self.registry = registry
        self.freezer = freezer
        self._saving = asyncio.Lock()  # one save at a time: the tick's and the shutdown's
        self._task: asyncio.Task[None] | None = None

    def start(self, tick: float) -> None:
        self._saving = asyncio.Lock()  # this loop's (tests start an app on more than one)
        self._task = asyncio.create_task(self._run(tick))

    async def stop(self) -> None:
        """Stop the timer; the last rows are the caller's to write (`flush`)."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def flush(self) -> None:
        """Save new tabs, touch live ones, close ended ones: one transaction for all of them."""
        async with self._saving:
            await self._flush()

    async def _flush(self) -> None:
        # A visitor's tab (no member) is never saved: anonymous streams cost no row, however
        # many are opened; /admin/sync lists members' tabs.
        registry = self.registry
        closed = [s for s in registry.take_ended() if s.tab.viewer_id is not None]
        pending = [s for s in (*registry.streams, *closed) if not s.saved and s.tab.viewer_id]
        live = [s.tab for s in registry.streams if s.saved]
        try:
            await to_thread.run_sync(
                self._save, [s.tab for s in pending], live, [s.tab for s in closed]
            )
        except BaseException:
            registry.put_back(closed)  # saved on the next tick instead
            raise
        for stream in pending:
            stream.saved = True

    async def _run(self, tick: float) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(tick)
            ticks += 1
            self.registry.keep_alive()
            try:
                await self.flush()
                if ticks % PRUNE_EVERY == 1:
                    await to_thread.run_sync(self._prune)
                    self.freezer.reclaim(len(self.registry.streams))
            except Exception as error:  # the database may be away for a while; streams carry on
                if (cause := unavailable_cause(error)) is None:
                    log.exception("live: could not save sync sessions")
                else:
                    log.warning(
                        "live: could not save sync sessions: database unavailable: %s", cause
                    )

    def _save(
        self, opened: list[LiveSession], live: list[LiveSession], closed: list[LiveSession]
    ) -> None:
        with session_scope(self.engine) as session:
            sync_sessions.save_sessions(session, opened=opened, live=live, closed=closed)

    def _prune(self) -> None:
        with session_scope(self.engine) as session:
            sync.prune_events(session)
            sync_sessions.close_stale_sessions(session)
