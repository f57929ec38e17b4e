"""The servers of bench/sse_fanout.py, each in a process of its own:

serve   `ppsync serve` itself, as deployed (its protocol class, limits, logging), over a
        temporary VAR_DIR (SQLite): nothing of the bench inside it.
probe   the same command in a process of this script, with clock probes on its live hub: when
        the committing thread published the change, and when the hub's fan-out (the puts into
        the streams' queues) began and ended, read back at GET /__bench/probe; and the old
        bench's change route, GET /__bench/change (record_change and the commit in a worker
        thread; it answers the commit's time).
bare    a bare ASGI broadcaster under uvicorn (uvloop, httptools): a set of `asyncio.Queue`s,
        the frame encoded once and put into each by POST /__bench/change, which answers the
        time of the put.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# published, fan-out began, fan-out ended (the last change's); full collections so far, their
# ms; keep-alive rounds so far
PROBE = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
_collecting = [0.0]


def _timed_collections(phase: str, info: dict[str, int]) -> None:
    if info["generation"] == 2:
        if phase == "start":
            _collecting[0] = time.monotonic()
        else:
            PROBE[3] += 1
            PROBE[4] += (time.monotonic() - _collecting[0]) * 1000


# --- probe: `ppsync serve` with clocks on its hub --------------------------------------------


def probed_app(create_app: Any) -> Any:
    """`create_app`, its hub's publish and fan-out timed, and the two bench routes added."""
    from anyio import to_thread
    from litestar import get
    from sqlmodel import Session

    from web.live.hub import live_hub
    from web.services.sync import record_change

    def create(settings: Any) -> Any:
        app = create_app(settings)
        gc.callbacks.append(_timed_collections)
        hub = live_hub(app)
        publish, deliver = hub.link.publish, hub.feed.deliver

        def published(frame: bytes) -> None:  # in the committing thread, after the commit
            PROBE[0] = time.monotonic()
            publish(frame)

        def delivered(frame: bytes) -> None:
            PROBE[1] = time.monotonic()
            deliver(frame)
            PROBE[2] = time.monotonic()

        keep_alive = hub.registry.keep_alive

        def kept_alive() -> None:
            PROBE[5] += 1
            keep_alive()

        hub.link.publish, hub.feed.deliver = published, delivered  # type: ignore[method-assign]
        hub.registry.keep_alive = kept_alive  # type: ignore[method-assign]
        commits, engine = app.state["commits"], app.state["engine"]

        def commit(member: int) -> str:
            with commits.attach(Session(engine)) as db:
                record_change(db, user_id=member, kind="uploaded")
                db.commit()  # published by the commit, as an upload's is
            return repr(time.monotonic())

        @get("/__bench/change")
        async def change(member: int) -> str:
            return await to_thread.run_sync(commit, member)

        @get("/__bench/probe")
        async def probe() -> str:
            return " ".join(map(repr, PROBE))

        app.register(change)
        app.register(probe)
        return app

    return create


def serve_probed(port: int, queued: bool) -> None:
    import web.app
    import web.live.events
    from web.cli import main

    web.app.create_app = probed_app(web.app.create_app)  # type: ignore[assignment]
    if queued:  # every frame through the stream's queue and task, as before send_at_once
        web.live.events.can_send_at_once = lambda send: False
    sys.exit(main(["serve", "--port", str(port)]))


# --- bare ----------------------------------------------------------------------------------


def bare_app(direct: bool) -> Any:
    from bench.bare_sse import end_on_disconnect, lifespan, open_stream, text
    from web.live.channel import sse_frame
    from web.live.freezer import FREEZE_EVERY
    from web.overrides.send_at_once import send_at_once
    from web.services.commits import Change

    queues: set[asyncio.Queue[bytes | None]] = set()
    waiting: dict[asyncio.Queue[bytes | None], Any] = {}  # the streams' sends, while they wait
    state = {"event_id": 0}

    async def stream(receive: Any, send: Any) -> None:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        queues.add(queue)
        if len(queues) % FREEZE_EVERY == 0:  # out of the collector's walks, as the app's are
            gc.freeze()
        watcher = end_on_disconnect(receive, queue)
        try:
            await open_stream(send)
            while True:
                waiting[queue] = send  # while it waits, the change may send for it
                frame = await queue.get()
                del waiting[queue]
                if frame is None:
                    break
                await send({"type": "http.response.body", "body": frame, "more_body": True})
        finally:
            queues.discard(queue)
            waiting.pop(queue, None)
            watcher.cancel()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, gc.freeze)
        elif scope["path"] == "/events":
            await stream(receive, send)
        elif scope["path"] == "/__bench/change":
            while (await receive()).get("more_body"):  # the POST's body, if any
                pass
            state["event_id"] += 1
            frame = sse_frame(Change(state["event_id"], 1, state["event_id"], "uploaded"))
            put = time.monotonic()
            message = {"type": "http.response.body", "body": frame, "more_body": True}
            for queue in queues:
                idle = queue.empty() and queue in waiting
                if not (direct and idle and send_at_once(waiting[queue], message)):
                    queue.put_nowait(frame)
            await text(send, repr(put))
        else:
            await text(send, "ok")

    return app


def serve_bare(port: int, direct: bool) -> None:
    from bench.bare_sse import serve

    serve(bare_app(direct), port)


if __name__ == "__main__":
    port_ = int(sys.argv[sys.argv.index("--port") + 1])
    if "--bare" in sys.argv:
        serve_bare(port_, "--direct" in sys.argv)
    else:
        serve_probed(port_, "--queued" in sys.argv)
