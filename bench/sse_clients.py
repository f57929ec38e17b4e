"""The client side of the SSE benches (bench/sse_fanout.py, bench/sse_topics.py): raw-socket
streams and a writer on a kept connection, asyncio protocols with no HTTP library, so that what
is timed is the server and the sockets.

Times are `time.monotonic()`, which every process on the machine shares: a server may answer
with its own clock readings and they compare with these.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
BATCH = 250  # connections opened at once: stays under the listen backlog
READY_TIMEOUT = 120.0


def raise_fd_limit() -> int:
    """Both sides raise their own limit as `ppsync serve` does: one socket per stream."""
    from web.plumbing.limits import raise_open_files_limit

    soft, _hard = raise_open_files_limit()
    return soft


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=30) as response:  # noqa: S310
        body: bytes = response.read()
        return body.decode()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


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
    """N streams opened with the same request, and the arrivals of the change in flight."""

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

    def expect(self) -> None:
        self.arrivals = []
        self.all_arrived.clear()


async def connect(port: int, run: Run, n: int) -> list[Client]:
    """Open n streams, BATCH at a time; return once each has had its opening (or time out)."""
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


def stream_request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n".encode()


class Writer(asyncio.Protocol):
    """The writer's kept connection: `ask` notes the moment its request is handed to the socket
    (the request is written whole, at once) and returns that moment with the answer's status
    and body (responses carry content-length)."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.buffer = b""
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    async def ask(self, request: bytes) -> tuple[float, int, bytes]:
        self.answer = asyncio.get_running_loop().create_future()
        sent = time.monotonic()
        self.transport.write(request)
        status, body = await self.answer
        return sent, status, body

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.answer is None:
            return
        head = self.buffer[:end].lower()
        length = int(head.split(b"content-length: ")[1].split(b"\r")[0])
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        self.answer.set_result((int(head.split(b" ", 2)[1]), body))


def http_request(method: str, path: str, body: bytes = b"", headers: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: bench\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
