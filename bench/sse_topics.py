"""SSE topics: streams that follow 50 members each, of 100,000; changes spread over all of them.

    .venv/bin/python bench/sse_topics.py [--streams 1000 10000] [--seconds 10] [--rate 100]
                                         [--repeat 3] [--variants app bare]

For each variant and number of streams N, a server runs alone in a subprocess (the app as
`ppsync serve` runs it; the bare one under uvicorn, uvloop, httptools) and this process opens
N raw-socket streams on 127.0.0.1, stream s asking for its 50 members in its URL
(`GET /events?members=…`). The members are assigned so that a pool of 10·N
of the 100,000 (all of them at N = 10,000) is watched by exactly 5 streams each, the rest by
none. Then two phases of `--rate` changes a second for `--seconds`, each change asked for by a
request from this process (`/__bench/change?member=M`), as the fan-out bench times them:

  spread  changes of members drawn from all 100,000: every stream must get its members' changes
          and nothing else (foreign = frames of a member the stream does not follow, missed =
          changes a watcher never got: both must be 0);
  same    changes of pool members only, each watched by 5 streams whatever N is: the server's
          CPU per change, which must not grow with N (goal: at N = 10,000 at most 1.5x N = 1,000).

Latency: from the change request's sending to the frame's arrival at each watcher (as issue 26
times the fan-out), and from the change's commit (as bench/sse_fanout.py does); p99 of the
watched changes beside a bare ASGI topic broadcaster's in the same run (goal: at most 1.3x, the
fan-out goal). CPU: the server process's user + system time over the phase, from
/proc/PID/stat, divided by the changes (the change's request and commit included); and the
fan-out's alone (the CPU time of the calls that put a change's frame into its watchers' queues:
the app's whole hub fan-out, the index look-up included, and the socket writes it makes itself
for waiting streams, which the bare broadcaster's streams make in their own tasks), from the
server itself. The hub's 15 s
keep-alive tick (a write to every stream, whatever the changes) is pushed past the run, so it
does not land in one phase and not another.

Each run starts with WARM_SECONDS of changes, not counted. Variants, interleaved, `--repeat`
runs each (the table shows the run with the median spread p99):
  app   the application as `ppsync serve` runs it: GET /events and its hub (web/live/), each
        change a real one (record_change and the commit, in a worker thread, whose session
        publishes it), asked for by a bench route.
  bare  a bare ASGI broadcaster: a dict member -> queues, each frame encoded once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sse_clients import (
    BATCH,
    HOST,
    free_port,
    get,
    percentile,
    raise_fd_limit,
    rss_kb,
)
from tests.processes import stop_process

MEMBERS = 100_000
WATCHING = 50  # members per stream
WATCHERS = 5  # streams per pool member
READY_TIMEOUT = 120.0
ARRIVAL_TIMEOUT = 20.0
WRITERS = 8  # kept connections the change requests take turns on
WARM_SECONDS = 2.0  # of changes before the phases, not counted
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the servers ---------------------------------------------------------------------------


def serve(variant: str, port: int, var: Path) -> None:
    if variant == "app":  # run as `ppsync serve` runs it: its protocol class, limits, logging
        import web.app
        from web.cli import main

        os.environ.update(
            DATABASE_URL=f"sqlite:///{var / 'app.db'}",
            VAR_DIR=str(var),
            SECRET_KEY="bench-" + "k" * 40,
            EVENTS_PER_CLIENT="1000000",  # every stream comes from 127.0.0.1: lift the cap
        )
        create = web.app.create_app
        web.app.create_app = lambda settings: app_server(create(settings))  # type: ignore[assignment]
        sys.exit(main(["serve", "--port", str(port)]))
    from bench.bare_sse import serve

    serve(bare_server(), port)


def seed(database: Path) -> None:
    """MEMBERS members with profiles, ids 1..MEMBERS, written in bulk (no password hashing)."""
    from sqlalchemy import insert
    from sqlmodel import Session

    from db import migrate
    from db.engine import make_engine
    from db.models import User, UserProfile
    from db.types import utcnow

    url = f"sqlite:///{database}"
    migrate.upgrade(url)
    engine = make_engine(url)
    now = utcnow()
    users = [
        {
            "id": i,
            "handle": f"m{i}",
            "display_name": f"M {i}",
            "password_hash": "-",
            "created_at": now,
        }
        for i in range(1, MEMBERS + 1)
    ]
    with Session(engine) as db:
        db.execute(insert(User), users)
        db.execute(
            insert(UserProfile), [{"user_id": i, "updated_at": now} for i in range(1, MEMBERS + 1)]
        )
        db.commit()
    engine.dispose()


def app_server(app: Any) -> Any:
    """The app `ppsync serve` made, with the bench's change and fan-out routes."""
    from anyio import to_thread
    from litestar import get as route
    from sqlmodel import Session

    from web.live.hub import live_hub
    from web.services.sync import record_change

    hub = live_hub(app)
    hub.tick = 3600.0  # the keep-alive tick, past the run
    spent = [0.0, 0]  # the fan-out's CPU seconds and frames, for /__bench/fanout
    deliver = hub.feed.deliver

    def timed(frame: bytes) -> None:
        started = time.thread_time()
        deliver(frame)
        spent[0] += time.thread_time() - started
        spent[1] += 1

    hub.feed.deliver = timed
    commits, engine = app.state["commits"], app.state["engine"]

    def commit(member: int) -> str:
        with commits.attach(Session(engine)) as db:
            made = record_change(db, user_id=member, kind="uploaded")
            db.commit()  # published by the commit, as an upload's is
        return f"{made.event_id} {time.monotonic()!r}"

    @route("/__bench/change")
    async def change(member: int) -> str:
        """The change's event id and when it was committed."""
        return await to_thread.run_sync(commit, member)

    @route("/__bench/fanout")
    async def fanout() -> str:
        return f"{spent[0]!r} {spent[1]}"

    app.register(change)
    app.register(fanout)
    return app


def bare_server() -> Any:
    from urllib.parse import parse_qs

    from bench.bare_sse import end_on_disconnect, lifespan, open_stream, text
    from web.live.channel import sse_frame
    from web.services.commits import Change

    topics: dict[int, set[asyncio.Queue[bytes | None]]] = {}
    state = {"event_id": 0}
    spent = [0.0, 0]

    async def stream(scope: Any, receive: Any, send: Any) -> None:
        query = parse_qs(scope["query_string"].decode())
        members = {int(m) for m in query.get("members", [""])[0].split(",") if m}
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        for member in members:
            topics.setdefault(member, set()).add(queue)
        watcher = end_on_disconnect(receive, queue)
        try:
            await open_stream(send)
            while (frame := await queue.get()) is not None:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
        finally:
            for member in members:
                topics[member].discard(queue)
            watcher.cancel()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["path"] == "/events":
            await stream(scope, receive, send)
        elif scope["path"] == "/__bench/change":
            member = int(parse_qs(scope["query_string"].decode())["member"][0])
            state["event_id"] += 1
            frame = sse_frame(Change(state["event_id"], member, state["event_id"], "uploaded"))
            put, started = time.monotonic(), time.thread_time()
            for queue in topics.get(member, ()):
                queue.put_nowait(frame)
            spent[0] += time.thread_time() - started
            spent[1] += 1
            await text(send, f"{state['event_id']} {put!r}")
        elif scope["path"] == "/__bench/fanout":
            await text(send, f"{spent[0]!r} {spent[1]}")
        else:
            await text(send, "ok")

    return app


# --- who watches whom ----------------------------------------------------------------------


def assignment(n: int, seed_: int = 25) -> tuple[list[list[int]], list[int]]:
    """Stream s's 50 members, and the pool: 10·n members each watched by exactly 5 streams.

    Blocks of 10 pool members; in round r, block b goes to stream (b + r·n/5) mod n, so a
    stream's 5 blocks are distinct and a block's 5 streams too. Which members make the pool,
    and in what order, is drawn at random over all MEMBERS."""
    per_block = WATCHING // WATCHERS
    pool = random.Random(seed_).sample(range(1, MEMBERS + 1), n * per_block)
    streams: list[list[int]] = [[] for _ in range(n)]
    for r in range(WATCHERS):
        for block in range(n):
            streams[(block + r * (n // WATCHERS)) % n] += pool[
                block * per_block : (block + 1) * per_block
            ]
    return streams, pool


# --- the clients ---------------------------------------------------------------------------


class Client(asyncio.Protocol):
    """One browser's stream: its members, and each frame's arrival."""

    def __init__(self, run: Run, members: list[int]) -> None:
        self.run = run
        self.members = frozenset(members)
        self.request = (
            f"GET /events?members={','.join(map(str, members))} HTTP/1.1\r\n"
            "Host: bench\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        self.ready = False
        self.closed = False
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        *frames, self.buffer = self.buffer.split(b"\n\n")
        for frame in frames:  # a frame may carry the chunked encoding's size line before it
            if not self.ready and b"event: sync-ready" in frame:
                self.ready = True
                self.run.on_ready()
            elif self.ready and (at := frame.find(b"event: avatar-")) >= 0:
                member = int(frame[at + 14 : frame.index(b"\n", at)])
                event_id = int(frame[frame.index(b"id: ") + 4 : at - 1])
                self.run.on_frame(event_id, member in self.members, now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


class Run:
    def __init__(self, n: int) -> None:
        self.n = n
        self.ready = 0
        self.all_ready = asyncio.Event()
        self.arrivals: list[tuple[int, float]] = []  # (event id, arrival), this phase
        self.foreign = 0
        self.expected = 0
        self.all_arrived = asyncio.Event()
        self.received = 0

    def on_ready(self) -> None:
        self.ready += 1
        if self.ready >= self.n:
            self.all_ready.set()

    def on_frame(self, event_id: int, followed: bool, now: float) -> None:
        if not followed:
            self.foreign += 1
            return
        self.arrivals.append((event_id, now))
        self.received += 1
        if self.received >= self.expected:
            self.all_arrived.set()


async def connect(port: int, run: Run, streams: list[list[int]]) -> list[Client]:
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    for start in range(0, len(streams), BATCH):
        batch = [
            loop.create_connection(lambda m=members: Client(run, m), HOST, port)
            for members in streams[start : start + BATCH]
        ]
        for _transport, protocol in await asyncio.gather(*batch):
            clients.append(protocol)
    await asyncio.wait_for(run.all_ready.wait(), READY_TIMEOUT)
    return clients


def fanout_seconds(port: int) -> float:
    """CPU the server spent putting frames into queues (the app: its hub's whole fan-out)."""
    return float(get(port, "/__bench/fanout").split()[0])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


class Writer(asyncio.Protocol):
    """A kept connection that asks for changes: a raw request line written at once (so its
    sending time is when it left), the answers only counted."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.asked: list[tuple[int, float]] = []  # (member, sent)
        self.answers: list[tuple[int, float]] = []  # (event id, committed), in the same order
        self.buffer = b""
        self.done = asyncio.Event()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def ask(self, member: int) -> None:
        self.asked.append((member, time.monotonic()))
        self.done.clear()
        self.transport.write(b"GET /__bench/change?member=%d HTTP/1.1\r\nHost: b\r\n\r\n" % member)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = int(self.buffer[:end].lower().split(b"content-length: ")[1].split(b"\r")[0])
            if len(self.buffer) < end + 4 + length:
                return
            event_id, committed = self.buffer[end + 4 : end + 4 + length].split()
            self.answers.append((int(event_id), float(committed)))
            self.buffer = self.buffer[end + 4 + length :]
            if len(self.answers) >= len(self.asked):
                self.done.set()


async def phase(
    port: int, pid: int, run: Run, changed: list[int], watchers: dict[int, int], rate: float
) -> dict[str, float]:
    """Ask for a change of each member of `changed`, `rate` a second, over WRITERS kept
    connections in turn; time every arrival."""
    run.arrivals, run.foreign, run.received = [], 0, 0
    run.expected = sum(watchers.get(member, 0) for member in changed)
    run.all_arrived.clear()
    if not run.expected:
        run.all_arrived.set()
    loop = asyncio.get_running_loop()
    writers = [(await loop.create_connection(Writer, HOST, port))[1] for _ in range(WRITERS)]
    fanout_before = fanout_seconds(port)
    cpu_before, started = cpu_seconds(pid), time.monotonic()
    for i, member in enumerate(changed):
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        writers[i % WRITERS].ask(member)
    sending = time.monotonic() - started
    with contextlib.suppress(TimeoutError):  # what never came is counted as missed
        await asyncio.wait_for(asyncio.gather(*(w.done.wait() for w in writers)), ARRIVAL_TIMEOUT)
        await asyncio.wait_for(run.all_arrived.wait(), ARRIVAL_TIMEOUT)
    cpu = cpu_seconds(pid) - cpu_before
    fanout = fanout_seconds(port) - fanout_before
    for writer in writers:
        writer.transport.close()
    changes = {  # event id -> (sent, committed)
        event_id: (sent, committed)
        for writer in writers
        for (_member, sent), (event_id, committed) in zip(writer.asked, writer.answers, strict=True)
    }
    return summarise(run, changes, cpu, sending) | {"fanout_us": fanout * 1e6 / len(changes)}


def summarise(
    run: Run, changes: dict[int, tuple[float, float]], cpu: float, sending: float
) -> dict[str, float]:
    """Latencies of every arrival of a watched change, from its request's sending (as issue 26
    times the fan-out) and from its commit (as bench/sse_fanout.py does)."""
    from_sent = sorted((at - changes[event][0]) * 1000 for event, at in run.arrivals)
    from_commit = sorted((at - changes[event][1]) * 1000 for event, at in run.arrivals)
    count = len(changes)
    first_sent = min(sent for sent, _committed in changes.values())
    last_committed = max(committed for _sent, committed in changes.values())
    return {
        "changes": count,
        "rate": (count - 1) / sending,
        "made": count / (last_committed - first_sent),
        "frames": run.received / count,
        "foreign": run.foreign,
        "missed": run.expected - run.received,
        "cpu_ms": cpu * 1000 / count,
        "p50": percentile(from_sent, 0.5),
        "p99": percentile(from_sent, 0.99),
        "c50": percentile(from_commit, 0.5),
        "c99": percentile(from_commit, 0.99),
    }


async def measure(
    variant: str, port: int, pid: int, n: int, seconds: float, rate: float
) -> dict[str, Any]:
    streams, pool = assignment(n)
    watchers: dict[int, int] = {}
    for members in streams:
        for member in members:
            watchers[member] = watchers.get(member, 0) + 1
    rng = random.Random(n)
    count = int(seconds * rate)
    before = rss_kb(pid)
    run = Run(n)
    clients = await connect(port, run, streams)
    await asyncio.sleep(0.5)
    kb = (rss_kb(pid) - before) / n
    warm = [rng.choice(pool) for _ in range(int(WARM_SECONDS * rate))]  # code, caches, threads
    await phase(port, pid, run, warm, watchers, rate)
    spread = await phase(
        port, pid, run, [rng.randint(1, MEMBERS) for _ in range(count)], watchers, rate
    )
    same = await phase(port, pid, run, [rng.choice(pool) for _ in range(count)], watchers, rate)
    held = sum(1 for c in clients if c.ready and not c.closed)
    for client in clients:
        client.transport.close()
    return {"held": held, "kb": kb, "spread": spread, "same": same}


# --- runs ----------------------------------------------------------------------------------


def start_server(variant: str, var: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = (var / "server.log").open("wb")
    command = [sys.executable, __file__, "--serve", variant, "--port", str(port), "--var", str(var)]
    server = subprocess.Popen(command, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            get(port, "/healthz")
            return server, port
        except OSError:
            if server.poll() is not None:
                raise RuntimeError((var / "server.log").read_text()) from None
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def run_once(variant: str, n: int, template: Path, seconds: float, rate: float) -> dict[str, Any]:
    import uvloop

    with tempfile.TemporaryDirectory(prefix=f"topics-{variant}-") as folder:
        var = Path(folder)
        shutil.copy(template, var / "app.db")
        server, port = start_server(variant, var)
        try:
            return uvloop.run(measure(variant, port, server.pid, n, seconds, rate))
        finally:
            stop_process(server, wait=15)


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda result: result["spread"]["p99"])[len(runs) // 2]


def bench(variants: list[str], sizes: list[int], seconds: float, rate: float, repeat: int) -> None:
    files = raise_fd_limit()
    if files < max(sizes) + 100:
        sys.exit(f"the clients need {max(sizes) + 100} open files, the limit is {files}")
    with tempfile.TemporaryDirectory(prefix="topics-template-") as folder:
        template = Path(folder) / "app.db"
        seeded = time.monotonic()
        seed(template)
        took = time.monotonic() - seeded
        print(f"SSE topics: {MEMBERS:,} members (seeded in {took:.1f} s); each stream follows")
        print(f"{WATCHING}; a pool of 10 x streams members has {WATCHERS} watchers each, the rest")
        print(f"none. {rate:.0f} changes/s for {seconds:.0f} s per phase; one server process")
        print("(app: as ppsync serve); clients in this process; latency = change request sent ->")
        print(f"arrival. Variants interleaved, {repeat} run(s) each; the median run by spread p99.")
        results: dict[tuple[str, int], dict[str, Any]] = {}
        for n in sizes:
            runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
            for _ in range(repeat):
                for variant in variants:
                    runs[variant].append(run_once(variant, n, template, seconds, rate))
            for variant in variants:
                results[variant, n] = median_run(runs[variant])
    report(results, variants, sizes)


def report(
    results: dict[tuple[str, int], dict[str, Any]], variants: list[str], sizes: list[int]
) -> None:
    print(
        f"{'variant':7} {'streams':>7} {'held':>6} {'KB/str':>6} {'phase':6} {'changes':>7} "
        f"{'ch/s':>5} {'made/s':>6} {'frames/ch':>9} {'foreign':>7} {'missed':>6} {'CPU ms/ch':>9} "
        f"{'fan-out us/ch':>13} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'x bare':>6} {'c50 ms':>7} {'c99 ms':>7} {'x bare':>6}"
    )
    nan = {"p99": float("nan"), "c99": float("nan")}
    for n in sizes:
        for variant in variants:
            result = results[variant, n]
            for name in ("spread", "same"):
                p = result[name]
                bare = results.get(("bare", n), {}).get(name, nan)
                print(
                    f"{variant:7} {n:>7} {result['held']:>6} {result['kb']:>6.1f} {name:6} "
                    f"{p['changes']:>7} {p['rate']:>5.0f} {p['made']:>6.0f} {p['frames']:>9.2f} "
                    f"{p['foreign']:>7} "
                    f"{p['missed']:>6} {p['cpu_ms']:>9.2f} {p['fanout_us']:>13.1f} "
                    f"{p['p50']:>7.1f} {p['p99']:>7.1f} "
                    f"{p['p99'] / bare['p99']:>6.2f} {p['c50']:>7.1f} {p['c99']:>7.1f} "
                    f"{p['c99'] / bare['c99']:>6.2f}",
                    flush=True,
                )
    print("ch/s: change requests sent a second; made/s: changes committed a second (to the")
    print("last commit from the first request); p: from the request's sending; c: from the")
    print("commit (the bare: the put).")
    small, large = min(sizes), max(sizes)
    for variant in variants:
        if small != large:
            ratio = (
                results[variant, large]["same"]["cpu_ms"]
                / results[variant, small]["same"]["cpu_ms"]
            )
            what = f"CPU per change with {WATCHERS} watchers, {large:,} / {small:,} streams"
            print(f"{variant}: {what}: {ratio:.2f}x (goal: at most 1.5x)")
            fan = (
                results[variant, large]["same"]["fanout_us"]
                / results[variant, small]["same"]["fanout_us"]
            )
            print(f"{variant}: its fan-out alone, the same: {fan:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=["app", "bare"])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--var", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.var)
    else:
        started = time.monotonic()
        bench(args.variants, args.streams, args.seconds, args.rate, args.repeat)
        print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
