"""SSE fan-out: N streams on one server process, one change, how long until every tab has it.

    .venv/bin/python bench/sse_fanout.py [--clients 5000] [--rounds 3] [--repeat 3]
                                         [--variants serve bare] [--also-old]

Timed as issue 26 times it: from the moment the writer's request is handed to its socket to the
moment each stream has the event (p50/p99/max over every stream and change; the p99 is, for the
last streams, when the last of them had it). For each variant and N, a server runs alone in a
subprocess (bench/sse_servers.py) and this process opens N raw-socket streams on 127.0.0.1
(bench/sse_clients.py), each following the member who changes, then a writer on a kept
connection makes `--rounds` x 2 changes, one at a time, each once every stream had the one
before:

  serve  `ppsync serve` as deployed; the writer is that member's API client: POST
         /api/profile/remove-picture, then PUT /api/profile/update-picture (the picture back),
         the cheapest real writes that publish `avatar-N` (no image work: a bearer token's look-up,
         the profile's rows, one sync_events row, the commit, the answer's state read).
  probe  the same command and the same writes, with clocks on its hub (bench/sse_servers.py):
         where the time goes, request -> publish -> fan-out -> last stream.
  old    the probed server with the old bench's change (GET /__bench/change: record_change and
         the commit in a worker thread, no API), timed both ways: from the request and, as this
         bench did until issue 26, from the commit.
  bare   a bare ASGI broadcaster; its request is POST /__bench/change, which puts the frame.

Printed per variant: streams held, RSS growth per stream, p50/p99/max ms from the request, p99
over the bare one's; the writer's answer time; for probe and old the split (medians over the
changes) and the p99 from the commit. Both processes raise their open-file limit to the hard one
(web/plumbing/limits.py), as `ppsync serve` does: 10,000 streams need `ulimit -Hn` above 10,100.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sse_clients import (
    HOST,
    Client,
    Run,
    Writer,
    connect,
    get,
    http_request,
    percentile,
    raise_fd_limit,
    rss_kb,
    stream_request,
)
from tests.e2e.conftest import PPSYNC, START_TIMEOUT_S, Server

SERVER = Path(__file__).with_name("sse_servers.py")
ARRIVAL_TIMEOUT = 20.0
WARM_STREAMS = 100


class BenchServer(Server):
    """`ppsync serve` (or the probed copy of it) with one member who has one picture and an API
    token: the writer's. Production settings, the per-address stream cap lifted (every stream
    comes from 127.0.0.1)."""

    def __init__(self, var: Path, probed: bool) -> None:
        super().__init__(var, {"EVENTS_PER_CLIENT": "1000000"}, test_only=False)
        self.probed = probed
        self.member = 0
        self.bearer = ""
        self.filename = ""
        self.updated_at = ""

    def _serve(self) -> bool:
        script = [sys.executable, str(SERVER), "--port", str(self.port)]
        command = script if self.probed else [PPSYNC, "serve", "--port", str(self.port)]
        with (self.var / "server.log").open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):  # noqa: S310
                    return True
            except OSError:
                if self.process.poll() is not None:
                    return False
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log()}")

    def seed(self) -> None:
        """The writer: a member, a token, a picture uploaded through the API (not timed)."""
        self.member = self.add_member("writer", "Writer")
        self.bearer = self.token(self.member, "bench")
        body, boundary = multipart(self.member, jpeg())
        answer = urllib.request.Request(  # noqa: S310  (127.0.0.1)
            f"{self.url}/api/profile/upload-picture",
            data=body,
            headers={
                "Authorization": f"Bearer {self.bearer}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        with urllib.request.urlopen(answer, timeout=60) as response:  # noqa: S310
            state = json.loads(response.read())
        self.filename, self.updated_at = state["filename"], state["updatedAt"]


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def multipart(member: int, picture: bytes) -> tuple[bytes, str]:
    boundary = "benchboundary7d1f"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="userId"\r\n\r\n{member}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="profilePicture"; '
        f'filename="me.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    )
    return head.encode() + picture + f"\r\n--{boundary}--\r\n".encode(), boundary


class BareServer:
    def __init__(self, var: Path) -> None:
        from bench.sse_clients import free_port

        self.var = var
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> BareServer:
        from bench.sse_clients import get

        command = [sys.executable, str(SERVER), "--bare", "--port", str(self.port)]
        with (self.var / "server.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                get(self.port, "/healthz")
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError((self.var / "server.log").read_text())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)


# --- the changes ---------------------------------------------------------------------------


class Changes:
    """The writer's requests, in turn: for serve and probe the API's remove-picture and
    update-picture (each answer's updatedAt feeds the next); for old and bare the bench route."""

    def __init__(self, variant: str, server: Any) -> None:
        self.variant = variant
        self.server = server
        self.removing = True

    def next_request(self) -> bytes:
        if self.variant == "bare":
            return http_request("POST", "/__bench/change")
        if self.variant == "old":
            return http_request("GET", f"/__bench/change?member={self.server.member}")
        server, auth = self.server, f"Authorization: Bearer {self.server.bearer}\r\n"
        auth += "Content-Type: application/json\r\n"
        if self.removing:
            body = {"userId": server.member}
            return http_request("POST", "/api/profile/remove-picture", _json(body), auth)
        body = {"userId": server.member, "profilePicture": server.filename}
        body["updatedAt"] = server.updated_at
        return http_request("PUT", "/api/profile/update-picture", _json(body), auth)

    def answered(self, status: int, body: bytes) -> float:
        """Check the answer; the commit's (the put's) time when the route says it, else nan."""
        if status != 200:
            raise RuntimeError(f"{self.variant}: the change was answered {status}: {body[:300]!r}")
        if self.variant in ("old", "bare"):
            return float(body)
        self.server.updated_at = json.loads(body)["updatedAt"]
        self.removing = not self.removing
        return math.nan


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


async def change_and_time(port: int, run: Run, writer: Writer, changes: Changes) -> dict[str, Any]:
    """One change: its request sent, every stream's arrival, and (probed servers) the hub's
    clocks."""
    run.expect()
    sent, status, body = await writer.ask(changes.next_request())
    answered = time.monotonic()
    committed = changes.answered(status, body)
    await asyncio.wait_for(run.all_arrived.wait(), ARRIVAL_TIMEOUT)
    probe = [math.nan] * 3
    if changes.variant in ("probe", "old"):
        probe = [float(v) for v in (await asyncio.to_thread(get, port, "/__bench/probe")).split()]
    return {
        "sent": sent,
        "answered": answered,
        "committed": committed,
        "published": probe[0],
        "began": probe[1],
        "ended": probe[2],
        "arrivals": list(run.arrivals),
    }


async def open_writer(port: int) -> Writer:
    loop = asyncio.get_running_loop()
    _transport, writer = await loop.create_connection(Writer, HOST, port)
    return writer


def close_all(clients: list[Client]) -> None:
    for client in clients:
        client.transport.close()


async def measure(variant: str, server: Any, n: int, rounds: int) -> dict[str, Any]:
    member = getattr(server, "member", 1)
    path = "/events" if variant == "bare" else f"/events?members={member}"
    request = stream_request(path)
    assert server.process is not None
    pid = server.process.pid
    # The writer's connection is opened before its changes: an idle kept connection is closed
    # by the server after a few seconds (uvicorn's keep-alive), as a browser's would be.
    writer, changes = await open_writer(server.port), Changes(variant, server)
    warm = Run(WARM_STREAMS, request)  # code, threads, caches: the first change loads them
    warm_clients = await connect(server.port, warm, WARM_STREAMS)
    for _ in range(2):
        await change_and_time(server.port, warm, writer, changes)
    close_all(warm_clients)
    writer.transport.close()
    await asyncio.sleep(0.5)
    before = rss_kb(pid)
    run = Run(n, request)
    started = time.monotonic()
    clients = await connect(server.port, run, n)
    connect_s = time.monotonic() - started
    await asyncio.sleep(0.5)
    after = rss_kb(pid)
    writer = await open_writer(server.port)
    records = []
    for _ in range(rounds * 2):
        records.append(await change_and_time(server.port, run, writer, changes))
        await asyncio.sleep(0.3)
    held = sum(1 for c in clients if c.ready and not c.closed)
    close_all(clients)
    writer.transport.close()
    return summarise(records) | {"held": held, "kb": (after - before) / n, "connect_s": connect_s}


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Latencies over every arrival of every change, from the request (and from the commit);
    the split of each change's time as medians over the changes."""
    from_sent = sorted((a - r["sent"]) * 1000 for r in records for a in r["arrivals"])
    from_commit = sorted((a - r["committed"]) * 1000 for r in records for a in r["arrivals"])

    def split(start: str, end: str) -> float:
        return statistics.median((r[end] - r[start]) * 1000 for r in records)

    for r in records:
        r["last"] = max(r["arrivals"])
    return {
        "changes": len(records),
        "p50": percentile(from_sent, 0.5),
        "p99": percentile(from_sent, 0.99),
        "max": from_sent[-1],
        "c99": percentile(from_commit, 0.99) if from_commit else math.nan,
        "answer": split("sent", "answered"),
        "to_publish": split("sent", "published"),
        "to_fanout": split("published", "began"),
        "fanout": split("began", "ended"),
        "to_last": split("ended", "last"),
    }


# --- runs ----------------------------------------------------------------------------------


def run_once(variant: str, n: int, rounds: int) -> dict[str, Any]:
    import uvloop

    with tempfile.TemporaryDirectory(prefix=f"sse-{variant}-") as folder:
        var = Path(folder)
        server: Any = BareServer(var) if variant == "bare" else BenchServer(var, variant != "serve")
        server.start()
        try:
            if variant != "bare":
                server.seed()
            return uvloop.run(measure(variant, server, n, rounds))
        finally:
            server.stop()


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose p99 is the median one (its other figures with it)."""
    return sorted(runs, key=lambda result: result["p99"])[len(runs) // 2]


def bench(variants: list[str], sizes: list[int], rounds: int, repeat: int) -> None:
    files = raise_fd_limit()
    if files < max(sizes) + 100:
        sys.exit(f"the clients need {max(sizes) + 100} open files, the limit is {files}")
    print(f"SSE fan-out: one server process; {rounds * 2} changes per run, one at a time; clients")
    print("in another process on 127.0.0.1; latency = the writer's request sent -> each stream.")
    print(f"Variants interleaved, {repeat} runs each: the median run by p99, and the p99 range;")
    print(f"x bare = p99 / the bare broadcaster's. Open files per process: {files}.")
    print(
        f"{'variant':7} {'streams':>7} {'held':>6} {'KB/str':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'x bare':>6} {'answer':>6} {'connect s':>9}  p99 range"
    )
    for n in sizes:
        runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
        for _ in range(repeat):  # interleaved, so a noisy neighbour hurts every variant alike
            for variant in variants:
                runs[variant].append(run_once(variant, n, rounds))
        medians = {variant: median_run(runs[variant]) for variant in variants}
        for variant in variants:
            m = medians[variant]
            ratio = m["p99"] / medians["bare"]["p99"] if "bare" in medians else math.nan
            p99s = sorted(result["p99"] for result in runs[variant])
            print(
                f"{variant:7} {n:>7} {m['held']:>6.0f} {m['kb']:>6.1f} {m['p50']:>7.1f} "
                f"{m['p99']:>7.1f} {m['max']:>7.1f} {ratio:>6.2f} {m['answer']:>6.1f} "
                f"{m['connect_s']:>9.1f}  {p99s[0]:.0f}-{p99s[-1]:.0f}",
                flush=True,
            )
        print_splits(medians)


def print_splits(medians: dict[str, dict[str, Any]]) -> None:
    """Where the probed servers' time went, and the old measure beside the new."""
    bare = medians.get("bare", {}).get("c99", math.nan)
    for variant in ("probe", "old"):
        if variant in medians:
            m = medians[variant]
            print(
                f"  {variant}: request -> published {m['to_publish']:.1f} ms, -> fan-out began "
                f"{m['to_fanout']:.1f}, the puts {m['fanout']:.1f}, -> last stream "
                f"{m['to_last']:.1f} (medians of the changes)"
            )
    if "old" in medians:
        c99 = medians["old"]["c99"]
        print(
            f"  old measure (commit -> arrival): old p99 {c99:.1f} ms, bare (put -> arrival) "
            f"{bare:.1f} ms: {c99 / bare:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[5000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=["serve", "bare"])
    args = parser.parse_args()
    started = time.monotonic()
    bench(args.variants, args.clients, args.rounds, args.repeat)
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
