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
  probe-queued, old-queued   the same with every frame through the stream's queue and task, as
         before the fan-out wrote to idle streams itself (web/overrides/send_at_once.py).
  bare   a bare ASGI broadcaster; its request is POST /__bench/change, which puts the frame.
  bare-direct  the same, writing to each waiting stream itself when its socket takes the frame
         at once, as the app does (web/overrides/send_at_once.py): the leanest ASGI fan-out.

Printed per variant: streams held, RSS growth per stream, p50/p99/max ms from the request, p99
over the bare one's; the writer's answer time; for probe and old the split (medians over the
changes) and the p99 from the commit. Both processes raise their open-file limit to the hard one
(web/plumbing/limits.py), as `ppsync serve` does: 10,000 streams need `ulimit -Hn` above 10,100.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
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
from bench.sse_launch import BareServer, BenchServer

ARRIVAL_TIMEOUT = 20.0
WARM_STREAMS = 100


# --- the changes ---------------------------------------------------------------------------


class Changes:
    """The writer's requests, in turn: for serve and probe the API's remove-picture and
    update-picture (each answer's updatedAt feeds the next); for old and bare the bench route."""

    def __init__(self, variant: str, server: Any) -> None:
        self.variant = variant
        self.server = server
        self.removing = True

    def next_request(self) -> bytes:
        if self.variant.startswith("bare"):
            return http_request("POST", "/__bench/change")
        if self.variant.startswith("old"):
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
        if self.variant.startswith(("old", "bare")):
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
    probe = [math.nan] * 6
    if changes.variant.startswith(("probe", "old")):
        probe = [float(v) for v in (await asyncio.to_thread(get, port, "/__bench/probe")).split()]
    return {
        "sent": sent,
        "answered": answered,
        "committed": committed,
        "published": probe[0],
        "began": probe[1],
        "ended": probe[2],
        "collections": probe[3:5],
        "keep_alives": probe[5],
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
    path = "/events" if variant.startswith("bare") else f"/events?members={member}"
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
    return {"records": records, "held": held, "kb": (after - before) / n, "connect_s": connect_s}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The changes of every run of a variant, pooled. `last`: each change's time from its
    request to the last stream having it (issue 26's measure), p50/p99/max over the changes;
    `s`: every stream's arrival, from the request; `c`: the same from the commit (the bare
    broadcaster: its put), the old measure. The split of a change's time: medians of them."""
    records = [r for run in runs for r in run["records"]]
    for r in records:
        r["last"] = max(r["arrivals"])
    last = sorted((r["last"] - r["sent"]) * 1000 for r in records)
    from_sent = sorted((a - r["sent"]) * 1000 for r in records for a in r["arrivals"])
    from_commit = sorted((a - r["committed"]) * 1000 for r in records for a in r["arrivals"])

    def split(start: str, end: str) -> float:
        return statistics.median((r[end] - r[start]) * 1000 for r in records)

    collected = [0.0, 0.0]  # full collections during the changes, and their ms
    ticked = []  # the last-stream ms of the changes a keep-alive round went out during
    for run in runs:
        marks = [r["collections"] for r in run["records"]]
        if marks and not math.isnan(marks[0][0]):
            collected = [collected[i] + marks[-1][i] - marks[0][i] for i in (0, 1)]
        for before, r in zip(run["records"], run["records"][1:], strict=False):
            if r["keep_alives"] > before["keep_alives"]:  # after the one before, by this one's end
                ticked.append(round((r["last"] - r["sent"]) * 1000))

    return {
        "changes": len(records),
        "held": min(run["held"] for run in runs),
        "kb": statistics.median(run["kb"] for run in runs),
        "connect_s": statistics.median(run["connect_s"] for run in runs),
        "last50": percentile(last, 0.5),
        "last99": percentile(last, 0.99),
        "lastmax": last[-1],
        "s50": percentile(from_sent, 0.5),
        "s99": percentile(from_sent, 0.99),
        "c99": percentile(from_commit, 0.99),
        "clast99": percentile(sorted((r["last"] - r["committed"]) * 1000 for r in records), 0.99),
        "answer": split("sent", "answered"),
        "to_publish": split("sent", "published"),
        "to_fanout": split("published", "began"),
        "fanout": split("began", "ended"),
        "to_last": split("ended", "last"),
        "collected": collected,
        "ticked": ticked,
        "slowest": _split_of(max(records, key=lambda r: r["last"] - r["sent"])),
    }


def _split_of(r: dict[str, Any]) -> str:
    marks = ("sent", "published", "began", "ended", "last")
    return " / ".join(f"{(r[b] - r[a]) * 1000:.1f}" for a, b in zip(marks, marks[1:], strict=False))


# --- runs ----------------------------------------------------------------------------------


def run_once(variant: str, n: int, rounds: int) -> dict[str, Any]:
    import uvloop

    with tempfile.TemporaryDirectory(prefix=f"sse-{variant}-") as folder:
        var = Path(folder)
        bare = variant.startswith("bare")
        server: Any = (
            BareServer(var, variant == "bare-direct") if bare else BenchServer(var, variant)
        )
        server.start()
        try:
            if not bare:
                server.seed()
            return uvloop.run(measure(variant, server, n, rounds))
        finally:
            server.stop()


def bench(variants: list[str], sizes: list[int], rounds: int, repeat: int) -> None:
    files = raise_fd_limit()
    if files < max(sizes) + 100:
        sys.exit(f"the clients need {max(sizes) + 100} open files, the limit is {files}")
    print(f"SSE fan-out: one server process; {rounds * 2} changes per run, one at a time, {repeat}")
    print("runs per variant, interleaved, their changes pooled; clients in another process on")
    print("127.0.0.1. last = the writer's request sent -> the last stream has the change, over")
    print("the changes; stream = every stream's arrival from the request; x bare, x direct = last")
    print(f"p99 over bare's, bare-direct's. Open files per process: {files}.")
    print(
        f"{'variant':12} {'streams':>7} {'held':>6} {'KB/str':>6} {'changes':>7} {'last p50':>8} "
        f"{'last p99':>8} {'last max':>8} {'x bare':>6} {'x direct':>8} {'stream p50':>10} "
        f"{'stream p99':>10} "
        f"{'answer':>6} {'connect s':>9}"
    )
    for n in sizes:
        runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
        for _ in range(repeat):  # interleaved, so a noisy neighbour hurts every variant alike
            for variant in variants:
                runs[variant].append(run_once(variant, n, rounds))
        pooled = {variant: summarise(runs[variant]) for variant in variants}
        for variant in variants:
            m = pooled[variant]
            ratio, leanest = (
                m["last99"] / pooled[floor]["last99"] if floor in pooled else math.nan
                for floor in ("bare", "bare-direct")
            )
            print(
                f"{variant:12} {n:>7} {m['held']:>6.0f} {m['kb']:>6.1f} {m['changes']:>7} "
                f"{m['last50']:>8.1f} {m['last99']:>8.1f} {m['lastmax']:>8.1f} {ratio:>6.2f} "
                f"{leanest:>8.2f} "
                f"{m['s50']:>10.1f} {m['s99']:>10.1f} {m['answer']:>6.1f} {m['connect_s']:>9.1f}",
                flush=True,
            )
        print_splits(pooled)


def print_splits(pooled: dict[str, dict[str, Any]]) -> None:
    """Where the probed servers' time went, and the old measure beside the new."""
    bare = pooled.get("bare", {})
    for variant, m in pooled.items():
        if variant.startswith(("probe", "old")):
            print(
                f"  {variant}: request -> published {m['to_publish']:.1f} ms, -> fan-out began "
                f"{m['to_fanout']:.1f}, the puts {m['fanout']:.1f}, -> last stream "
                f"{m['to_last']:.1f} (medians of the changes); full collections during the "
                f"changes: {m['collected'][0]:.0f}, {m['collected'][1]:.0f} ms in all; changes "
                f"after a keep-alive round: last stream at {m['ticked']} ms; the slowest change: "
                f"{m['slowest']} ms"
            )
    for variant, m in pooled.items():
        if variant.startswith("old") and bare:
            print(
                f"  the old measure, from the commit (bare: the put): {variant} stream p99 "
                f"{m['c99']:.1f} ms / bare {bare['c99']:.1f} = {m['c99'] / bare['c99']:.2f}x; "
                f"last p99 {m['clast99']:.1f} / {bare['clast99']:.1f} = "
                f"{m['clast99'] / bare['clast99']:.2f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[5000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=["serve", "bare"])
    args = parser.parse_args()
    started = time.monotonic()
    bench(args.variants, args.clients, args.rounds, args.repeat)
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
