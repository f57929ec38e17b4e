"""SSE fan-out: N streams on one server process, one change, how long until every tab has it.

    .venv/bin/python bench/sse_fanout.py [--clients 1000 5000] [--rounds 3] [--repeat 3]
                                         [--variants app stream bare]

For each variant and N, a server runs alone in a subprocess (uvicorn, uvloop, httptools) and
this process opens N raw-socket clients on 127.0.0.1 (asyncio protocols, no HTTP library). Then
it asks the server for a change, `--rounds` times, and times each one from the commit (the
server's monotonic clock, shared by every process on the machine) to its arrival at each client.

Variants, in the same run:
  app     the application itself: GET /events (web/live/events.py, called by the app's front
          door outside the middleware) over the channels plugin, fed by a real change
          (record_change, then the commit, whose session publishes it through the LiveHub
          from a worker thread: web/services/commits.py).
  stream  the same application, with the stream written as Litestar's Stream response over the
          same subscription, routed through the middleware like any other handler.
  bare    a bare ASGI broadcaster: a set of queues, the frame encoded once, put into each.

Printed per run: connections held, the server's RSS growth per connection, p50/p99/max
milliseconds from commit to arrival over every client and round, and p99 over the bare one's.
Both processes raise their open-file limit to the hard one (web/plumbing/limits.py), as
`ppsync serve` does: 10,000 clients need `ulimit -Hn` above 10,100.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOST = "127.0.0.1"
BATCH = 250  # connections opened at once: stays under the listen backlog
READY_TIMEOUT = 60.0
ARRIVAL_TIMEOUT = 10.0


def raise_fd_limit() -> int:
    """Both sides raise their own limit as `ppsync serve` does: one socket per stream."""
    from web.plumbing.limits import raise_open_files_limit

    soft, _hard = raise_open_files_limit()
    return soft


# --- the servers ---------------------------------------------------------------------------


def serve(variant: str, port: int, var: Path) -> None:
    import uvicorn

    raise_fd_limit()
    app = {"app": app_server, "stream": stream_server, "bare": bare_server}[variant](var)
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


def app_server(var: Path) -> Any:
    from litestar import Request, get

    from db import migrate
    from web.app import create_app
    from web.plumbing.deps import DB
    from web.services.accounts import members
    from web.services.sync import record_change
    from web.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{var / 'app.db'}",
        media_root=var / "media",
        var_dir=var,
        secret_key="bench-" + "k" * 40,
        events_per_client=1_000_000,  # every stream comes from 127.0.0.1: lift the cap
    )
    migrate.upgrade(settings.database_url)
    app = create_app(settings)

    names = {"DB": DB, "Request": Request, "Any": Any}

    @get("/__bench/change", sync_to_thread=True, signature_namespace=names)
    def change(db: DB) -> str:
        record_change(db, user_id=1, kind="uploaded")
        db.commit()  # published by the commit: the hub's loop has it within microseconds
        return repr(time.monotonic())

    from sqlmodel import Session

    with Session(app.state["engine"]) as db:
        members.create_member(db, handle="alice", display_name="Alice", password="x" * 12)
        db.commit()
    app.register(change)
    return app


def stream_server(var: Path) -> Any:
    """The same application, with GET /events-stream written the idiomatic Litestar way: a
    Stream response over the same subscription. Only the handler differs from `app`."""
    from litestar import get
    from litestar.channels import ChannelsPlugin
    from litestar.response import Stream

    from web.live.channel import CHANNEL, opening_frames
    from web.services.sync import Replay

    app = app_server(var)
    names = {"ChannelsPlugin": ChannelsPlugin, "Stream": Stream}

    @get("/events-stream", signature_namespace=names)
    async def events(channels: ChannelsPlugin) -> Stream:
        async def frames() -> AsyncIterator[bytes]:
            async with channels.start_subscription(CHANNEL) as subscriber:
                yield opening_frames(Replay((), 0))
                async for frame in subscriber.iter_events():
                    yield frame

        return Stream(frames(), media_type="text/event-stream")

    app.register(events)
    return app


def bare_server(_var: Path) -> Any:
    from web.live.channel import opening_frames, sse_frame
    from web.services.commits import Change
    from web.services.sync import Replay

    queues: set[asyncio.Queue[bytes | None]] = set()
    state = {"event_id": 0}
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]

    async def stream(receive: Any, send: Any) -> None:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        queues.add(queue)

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            queue.put_nowait(None)

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            opening = opening_frames(Replay((), 0))
            await send({"type": "http.response.body", "body": opening, "more_body": True})
            while (frame := await queue.get()) is not None:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
        finally:
            queues.discard(queue)
            watcher.cancel()

    async def text(send: Any, body: str) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body.encode()})

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["path"] == "/events":
            await stream(receive, send)
        elif scope["path"] == "/__bench/change":
            committed = time.monotonic()
            state["event_id"] += 1
            frame = sse_frame(Change(state["event_id"], 1, state["event_id"], "uploaded"))
            for queue in queues:
                queue.put_nowait(frame)
            await text(send, repr(committed))
        else:
            await text(send, "ok")

    return app


# --- the clients ---------------------------------------------------------------------------

# The app's stream follows the members its URL names: member 1 is the one that changes.
PATHS = {"app": "/events?members=1", "stream": "/events-stream", "bare": "/events"}


def stream_request(variant: str) -> bytes:
    path = PATHS[variant]
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n".encode()


class Client(asyncio.Protocol):
    """One tab's stream: notes when the opening arrived and when each change did."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.ready = False
        self.closed = False
        self.head = b""
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport instances

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.ready:
            self.head += data
            if b"sync-ready" in self.head:
                self.ready = True
                self.head = b""
                self.run.on_ready()
        elif b"event: avatar-" in data:
            self.run.on_arrival(now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


class Run:
    def __init__(self, n: int, request: bytes) -> None:
        self.n = n
        self.request = request
        self.ready = 0
        self.arrivals: list[float] = []
        self.all_ready = asyncio.Event()
        self.all_arrived = asyncio.Event()

    def on_ready(self) -> None:
        self.ready += 1
        if self.ready >= self.n:
            self.all_ready.set()

    def on_arrival(self, now: float) -> None:
        self.arrivals.append(now)
        if len(self.arrivals) >= self.n:
            self.all_arrived.set()


async def connect(port: int, run: Run, n: int) -> list[Client]:
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    for start in range(0, n, BATCH):
        batch = [
            loop.create_connection(lambda: Client(run), HOST, port)
            for _ in range(min(BATCH, n - start))
        ]
        for _transport, protocol in await asyncio.gather(*batch):
            clients.append(protocol)
    await asyncio.wait_for(run.all_ready.wait(), READY_TIMEOUT)
    return clients


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=30) as response:  # noqa: S310
        body: bytes = response.read()
        return body.decode()


async def change_and_time(port: int, run: Run) -> list[float]:
    run.arrivals.clear()
    run.all_arrived.clear()
    committed = float(await asyncio.to_thread(get, port, "/__bench/change"))
    await asyncio.wait_for(run.all_arrived.wait(), ARRIVAL_TIMEOUT)
    return [(arrival - committed) * 1000 for arrival in run.arrivals]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def measure(variant: str, port: int, pid: int, n: int, rounds: int) -> dict[str, float]:
    request = stream_request(variant)
    warm = Run(100, request)  # the first connections and change load code, threads, caches
    warm_clients = await connect(port, warm, 100)
    await change_and_time(port, warm)
    for client in warm_clients:
        assert client.transport is not None
        client.transport.close()
    await asyncio.sleep(0.5)

    before = rss_kb(pid)
    run = Run(n, request)
    started = time.monotonic()
    clients = await connect(port, run, n)
    connect_s = time.monotonic() - started
    await asyncio.sleep(0.5)
    after = rss_kb(pid)
    latencies: list[float] = []
    for _ in range(rounds):
        latencies += await change_and_time(port, run)
        await asyncio.sleep(0.3)
    held = sum(1 for c in clients if c.ready and not c.closed)
    for client in clients:
        assert client.transport is not None
        client.transport.close()
    latencies.sort()
    return {
        "held": held,
        "kb": (after - before) / n,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max": latencies[-1],
        "connect_s": connect_s,
    }


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(variant: str, var: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = (var / "server.log").open("wb")
    command = [sys.executable, __file__, "--serve", variant, "--port", str(port), "--var", str(var)]
    server = subprocess.Popen(command, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            get(port, "/healthz")
            return server, port
        except OSError:
            if server.poll() is not None:
                raise RuntimeError((var / "server.log").read_text()) from None
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run_once(variant: str, n: int, rounds: int) -> dict[str, float]:
    import uvloop

    with tempfile.TemporaryDirectory(prefix=f"sse-{variant}-") as folder:
        server, port = start_server(variant, Path(folder))
        try:
            return uvloop.run(measure(variant, port, server.pid, n, rounds))
        finally:
            stop_server(server)


def bench(variants: list[str], sizes: list[int], rounds: int, repeat: int) -> None:
    files = raise_fd_limit()
    if files < max(sizes) + 100:
        sys.exit(f"the clients need {max(sizes) + 100} open files, the limit is {files}")
    print(f"SSE fan-out: one uvicorn process (uvloop, httptools); {rounds} changes per run;")
    print("clients in another process on 127.0.0.1; latency = commit -> arrival at each client.")
    print(f"Variants interleaved, {repeat} runs each: the median run, and the p99 range;")
    print(f"x bare = p99 / the bare broadcaster's. Open files per process: {files}.")
    print(
        f"{'variant':8} {'clients':>7} {'held':>6} {'KB/conn':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'x bare':>6} {'connect s':>9}  p99 range"
    )
    for n in sizes:
        runs: dict[str, list[dict[str, float]]] = {variant: [] for variant in variants}
        for _ in range(repeat):  # interleaved, so a noisy neighbour hurts every variant alike
            for variant in variants:
                runs[variant].append(run_once(variant, n, rounds))
        medians = {variant: median_run(runs[variant]) for variant in variants}
        for variant in variants:
            median = medians[variant]
            ratio = median["p99"] / medians["bare"]["p99"] if "bare" in medians else math.nan
            p99s = sorted(result["p99"] for result in runs[variant])
            print(
                f"{variant:8} {n:>7} {median['held']:>6.0f} {median['kb']:>8.1f} "
                f"{median['p50']:>7.1f} {median['p99']:>7.1f} {median['max']:>7.1f} "
                f"{ratio:>6.2f} {median['connect_s']:>9.1f}  {p99s[0]:.0f}-{p99s[-1]:.0f}",
                flush=True,
            )


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run whose p99 is the median one (its other figures with it)."""
    return sorted(runs, key=lambda result: result["p99"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=["app", "stream", "bare"])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--var", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.var)
    else:
        started = time.monotonic()
        bench(args.variants, args.clients, args.rounds, args.repeat)
        print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
