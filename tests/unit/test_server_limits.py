"""The header-size cap and the connection cap (web/overrides/server_limits.py) on a real uvicorn,
for both of its parsers: too many header bytes are 431 and closed as they arrive (a head
pipelined behind an open stream too); a connection past the cap is 503 at once and the open
ones still work. (The header deadline: tests/unit/test_header_timeout.py; against `ppsync serve`:
tests/e2e/test_http_limits.py.)"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.ports import uvicorn_thread
from web.overrides.server_limits import protocol_class
from web.plumbing.limits import MAX_CONNECTIONS, RESERVED_FILES, connection_cap

HEADER_CAP = 8 * 1024
CONNECTION_CAP = 4


async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    """200 "ok"; /stream answers a part every 0.2 s for 10 s."""
    assert scope["type"] == "http"
    headers = [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]
    if scope["path"] == "/stream":
        for _ in range(50):
            await send({"type": "http.response.body", "body": b".", "more_body": True})  # type: ignore[operator]
            await asyncio.sleep(0.2)
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


@contextmanager
def _serving(parser: str) -> Iterator[int]:
    http = protocol_class(10, parser, max_header_bytes=HEADER_CAP, max_connections=CONNECTION_CAP)
    with uvicorn_thread(app, http) as serving:
        yield serving


@pytest.fixture(params=["httptools", "h11"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    with _serving(request.param) as serving:
        yield serving


@pytest.fixture
def httptools_port() -> Iterator[int]:
    """The parser `ppsync serve` runs. (h11 bounds a head itself, at 16 KiB by default, with a
    400, and reads nothing more of a connection while a request of it is in flight.)"""
    with _serving("httptools") as serving:
        yield serving


def _answer(sock: socket.socket, timeout: float = 5) -> bytes:
    """What the server sends until it closes or goes quiet for `timeout`."""
    sock.settimeout(timeout)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and not answer.startswith(b"HTTP/1.1 200"):
                break
    except TimeoutError:
        pass
    except ConnectionResetError:
        answer += b"<reset>"
    return answer


def _get(port: int, sock: socket.socket | None = None) -> bytes:
    own = sock or socket.create_connection(("127.0.0.1", port), timeout=5)
    own.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    answer = b""
    while not answer.endswith(b"0\r\n\r\n"):  # the chunked body's end
        chunk = own.recv(4096)
        if not chunk:
            break
        answer += chunk
    if sock is None:
        own.close()
    return answer


def _send_headers(sock: socket.socket, head: bytes, total: int) -> int:
    """Header lines after `head` until `total` bytes or the server closes; the bytes sent."""
    sock.sendall(head)
    sent, line = len(head), b"X-Pad: " + b"a" * 1000 + b"\r\n"
    try:
        while sent < total:
            sock.sendall(line)
            sent += len(line)
    except OSError:  # closed or reset by the server: what we wanted
        pass
    return sent


def test_headers_past_the_cap_are_431_and_closed(httptools_port: int) -> None:
    with socket.create_connection(("127.0.0.1", httptools_port), timeout=5) as sock:
        sent = _send_headers(sock, b"GET / HTTP/1.1\r\nHost: t\r\n", 4 * 1024 * 1024)
        answer = _answer(sock)
    assert sent < 4 * 1024 * 1024
    assert answer.startswith(b"HTTP/1.1 431"), answer


def test_headers_just_under_the_cap_are_answered(port: int) -> None:
    pad = b"X-Pad: " + b"a" * (HEADER_CAP - 200) + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n" + pad + b"\r\n")
        assert _answer(sock, timeout=2).startswith(b"HTTP/1.1 200")


def test_a_head_pipelined_behind_a_stream_is_counted(httptools_port: int) -> None:
    with socket.create_connection(("127.0.0.1", httptools_port), timeout=5) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        sent = _send_headers(sock, b"GET / HTTP/1.1\r\nHost: t\r\n", 64 * 1024 * 1024)
        sock.settimeout(5)
        try:  # the stream is cut (closed or reset): its 10 s never run out
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
    assert sent < 64 * 1024 * 1024 and time.monotonic() - started < 5


def test_connections_past_the_cap_are_503_at_once_and_the_open_ones_work(port: int) -> None:
    held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(CONNECTION_CAP)]
    try:
        assert _get(port, held[0]).startswith(b"HTTP/1.1 200")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
            started = time.monotonic()
            answer = _answer(extra, timeout=2)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        assert b"retry-after: 5" in answer.lower()
        assert time.monotonic() - started < 1
        assert _get(port, held[1]).startswith(b"HTTP/1.1 200")  # opened before: untouched
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5
    while not (answer := _get(port)).startswith(b"HTTP/1.1 200") and time.monotonic() < deadline:
        time.sleep(0.05)  # the closed ones are gone once the server has seen them go
    assert answer.startswith(b"HTTP/1.1 200")


def test_the_default_cap_follows_the_open_file_limit() -> None:
    assert connection_cap(1024) == 1024 - RESERVED_FILES
    assert connection_cap(1_048_576) == MAX_CONNECTIONS
    assert connection_cap(200) == 100
