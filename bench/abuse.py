"""Floods a real `ppsync serve` from one address and prints what the server held.

    .venv/bin/python bench/abuse.py [--logins 64] [--streams 500] [--concurrency 16]
                                    [--slow 4] [--slow-cap 30]

Over a temporary VAR_DIR (SQLite, no Redis) on a free port, with one member: first an idle
baseline, then a login flood (wrong passwords for that member, `--concurrency` at once), then a
stream flood (`--streams` sockets on GET /events, all from 127.0.0.1). For each phase it prints
the answers' status counts, the server's resident memory (VmRSS now, VmHWM the peak so far) and
the event loop's latency as a client sees it: GET /healthz, back to back, during the phase
(median and worst). The machine it runs on may be shared: read the figures side by side.

Then slow clients: `--slow` sockets sending a header line every 2 s and as many sending a body
byte every 2 s, with the time until the server closed each (or "open" at `--slow-cap` seconds),
against `ppsync serve` (HEADER_TIMEOUT, web/overrides/server_limits.py) and, as the baseline
in the same run, the same app on uvicorn's stock protocol (which has no header-read timeout).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.conftest import PPSYNC, Server, free_port  # noqa: E402
from tests.factories import PASSWORD  # noqa: E402


def memory_mb(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class Pinger(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                client.get("/healthz")
                self.latencies.append((time.perf_counter() - started) * 1000)

    def summary(self) -> str:
        if not self.latencies:
            return "healthz: no sample"
        median, worst = statistics.median(self.latencies), max(self.latencies)
        return f"healthz median {median:.1f} ms, worst {worst:.1f} ms ({len(self.latencies)})"


def phase(name: str, pid: int, url: str, work: object) -> None:
    pinger = Pinger(url)
    pinger.start()
    started = time.perf_counter()
    statuses = work() if callable(work) else Counter()
    seconds = time.perf_counter() - started
    pinger.stop.set()
    pinger.join()
    rss, peak = memory_mb(pid)
    counts = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items())) or "-"
    print(
        f"{name:<14} {seconds:6.2f} s | {counts:<28} | RSS {rss:6.1f} MB, peak {peak:6.1f} MB"
        f" | {pinger.summary()}"
    )


def login_flood(url: str, count: int, concurrency: int) -> Counter[int]:
    def one(_: int) -> int:
        with httpx.Client(base_url=url, timeout=60) as client:
            client.get("/login")
            form = {
                "handle": "alice",
                "password": "wrong password",
                "_csrf_token": client.cookies["csrftoken"],
            }
            return client.post("/login", data=form).status_code

    with ThreadPoolExecutor(concurrency) as pool:
        return Counter(pool.map(one, range(count)))


def stream_flood(port: int, count: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        sockets.append(sock)
    for sock in sockets:
        head = b""
        while b"\r\n" not in head:
            head += sock.recv(4096)
        statuses[int(head.split()[1])] += 1
    for sock in sockets:
        sock.close()
    return statuses


SLOW_PACE_S = 2.0
SLOW_HEAD = b"GET /healthz HTTP/1.1\r\n"
SLOW_BODY = (
    b"POST /login HTTP/1.1\r\nHost: bench\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
)


def dribble(port: int, first: bytes, drop: bytes, cap: float) -> tuple[int, float | None]:
    """Sends `first`, then `drop` every SLOW_PACE_S; (status answered or 0, seconds until the
    server closed the connection, or None when it was still open after `cap` seconds)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(first)
        started, answer = time.monotonic(), b""
        sock.settimeout(SLOW_PACE_S)
        while time.monotonic() - started < cap:
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                try:
                    sock.sendall(drop)
                except OSError:
                    break
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        else:
            return _status(answer), None
        return _status(answer), time.monotonic() - started


def _status(answer: bytes) -> int:
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def slow_clients(port: int, count: int, cap: float) -> None:
    kinds = {"slow headers": (SLOW_HEAD, b"X-Slow: 1\r\n"), "slow body": (SLOW_BODY, b"a")}
    with ThreadPoolExecutor(2 * count) as pool:
        runs = {
            kind: [pool.submit(dribble, port, first, drop, cap) for _ in range(count)]
            for kind, (first, drop) in kinds.items()
        }
        for kind, futures in runs.items():
            results = [future.result() for future in futures]
            closed = sorted(s for _, s in results if s is not None)
            statuses = Counter(status or "none" for status, _ in results)
            times = (
                f"closed after median {statistics.median(closed):.1f} s, worst {closed[-1]:.1f} s"
                if closed
                else "-"
            )
            print(
                f"  {kind:<13} {len(closed)}/{count} closed within {cap:.0f} s | "
                f"answers {dict(statuses)} | {times}"
            )


def start(argv: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        server = subprocess.Popen(argv, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# The baseline: the same app on uvicorn's own protocol, as `ppsync serve` ran it before.
STOCK_UVICORN = (
    "import sys, uvicorn; from web.app import create_app; from web.settings import Settings; "
    "uvicorn.run(create_app(Settings.from_env()), port=int(sys.argv[1]), access_log=False)"
)


def slow_phase(env: dict[str, str], var: str, count: int, cap: float) -> None:
    for name, argv in (
        ("ppsync serve (HEADER_TIMEOUT)", [PPSYNC, "serve", "--port"]),
        ("baseline: stock uvicorn", [sys.executable, "-c", STOCK_UVICORN]),
    ):
        port = free_port()
        server = start([*argv, str(port)], env, port, Path(var) / "slow.log")
        try:
            print(f"{name}, a line or a byte every {SLOW_PACE_S:.0f} s:")
            slow_clients(port, count, cap)
        finally:
            server.terminate()
            server.wait(timeout=20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=64)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--slow", type=int, default=4, help="slow sockets of each kind")
    parser.add_argument("--slow-cap", type=float, default=30.0, help="seconds to wait for a close")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ppsync-abuse-") as var:
        server = Server(Path(var), test_only=False).start()  # the production settings
        try:
            server.ppsync("user", "add", "alice", stdin=PASSWORD)
            assert server.process is not None
            pid, url, port = server.process.pid, server.url, server.port
            print(f"server pid {pid}, {os.cpu_count()} cores")
            phase("idle (2 s)", pid, url, lambda: time.sleep(2) or Counter())
            phase("login flood", pid, url, lambda: login_flood(url, args.logins, args.concurrency))
            phase("stream flood", pid, url, lambda: stream_flood(port, args.streams))
            phase("idle again", pid, url, lambda: time.sleep(2) or Counter())
        finally:
            server.stop()
        slow_phase(server.env, var, args.slow, args.slow_cap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
