"""Floods a real `ppsync serve` from one address and prints what the server held.

    .venv/bin/python bench/abuse.py [--logins 64] [--streams 500] [--concurrency 16]

Over a temporary VAR_DIR (SQLite, no Redis) on a free port, with one member: first an idle
baseline, then a login flood (wrong passwords for that member, `--concurrency` at once), then a
stream flood (`--streams` sockets on GET /events, all from 127.0.0.1). For each phase it prints
the answers' status counts, the server's resident memory (VmRSS now, VmHWM the peak so far) and
the event loop's latency as a client sees it: GET /healthz, back to back, during the phase
(median and worst). The machine it runs on may be shared: read the figures side by side.
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

PPSYNC = str(Path(sys.executable).with_name("ppsync"))
PASSWORD = "correct horse battery"  # noqa: S105  (the bench member's, in a temporary database)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=64)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ppsync-abuse-") as var:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
        env |= {"VAR_DIR": var, "SECRET_KEY": "bench-" + "s" * 40}
        run = lambda *a, stdin="": subprocess.run(  # noqa: E731
            [PPSYNC, *a], input=stdin, env=env, text=True, capture_output=True, check=True
        )
        run("db", "upgrade")
        run("user", "add", "alice", stdin=PASSWORD)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(var) / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [PPSYNC, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
            )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            print(f"server pid {server.pid}, {os.cpu_count()} cores")
            phase("idle (2 s)", server.pid, url, lambda: time.sleep(2) or Counter())
            phase(
                "login flood",
                server.pid,
                url,
                lambda: login_flood(url, args.logins, args.concurrency),
            )
            phase("stream flood", server.pid, url, lambda: stream_flood(port, args.streams))
            phase("idle again", server.pid, url, lambda: time.sleep(2) or Counter())
        finally:
            server.terminate()
            server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
