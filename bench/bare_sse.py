"""What the bare ASGI broadcasters of the SSE benches share (bench/sse_servers.py's, one set of
queues; bench/sse_topics.py's, a set per member): a stream's head and opening frames as the app
sends them, the task that ends a stream when its client goes, a plain text answer, and the
lifespan, and how uvicorn runs them. Each keeps its own fan-out: that is what it measures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bench.sse_clients import HOST, raise_fd_limit
from web.live.channel import opening_frames
from web.services.sync import Replay

HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


async def open_stream(send: Any) -> None:
    """The stream's head and the app's opening frames (nothing to replay)."""
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    opening = opening_frames(Replay((), 0))
    await send({"type": "http.response.body", "body": opening, "more_body": True})


def end_on_disconnect(receive: Any, queue: asyncio.Queue[bytes | None]) -> asyncio.Task[None]:
    """A task that puts None into the stream's queue when its client goes."""

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        queue.put_nowait(None)

    return asyncio.create_task(watch())


async def text(send: Any, body: str) -> None:
    """200 with `body` as plain bytes."""
    length = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": length})
    await send({"type": "http.response.body", "body": body.encode()})


async def lifespan(receive: Any, send: Any, starting: Callable[[], None] = lambda: None) -> None:
    """Start (after `starting`) and shut down when told."""
    while (await receive())["type"] != "lifespan.shutdown":
        starting()
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


def serve(app: Any, port: int) -> None:
    """Under uvicorn, as both benches run their bare broadcaster: uvloop, httptools, no access
    log, a deep backlog, the open-files limit raised."""
    import uvicorn

    raise_fd_limit()
    uvicorn.run(
        app,
        host=HOST,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        backlog=4096,
    )
