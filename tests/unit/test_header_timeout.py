"""The header deadline (web/overrides/server_limits.py) on a real uvicorn, for both of its
parsers: slow headers are 408 and closed; a normal request, keep-alive reuse across a pause
longer than the deadline, and a long streamed answer are not touched.

A 1 s deadline keeps the tests short; the dribble sends a header line every 0.4 s, 30 of them
(12 s) at most, so a server without the deadline never closes within it.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.ports import uvicorn_thread
from web.overrides.server_limits import protocol_class

DEADLINE_S = 1.0


async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    """Echoes the client port (a reused connection keeps it); /stream sends 6 parts, 0.4 s apart."""
    assert scope["type"] == "http"
    headers = [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]
    if scope["path"] == "/stream":
        for part in range(6):
            await asyncio.sleep(0.4)
            await send({"type": "http.response.body", "body": b"%d\n" % part, "more_body": True})  # type: ignore[operator]
    body = str(scope["client"][1]).encode()
    await send({"type": "http.response.body", "body": body})  # type: ignore[operator]


@pytest.fixture(params=["httptools", "h11"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    with uvicorn_thread(app, protocol_class(DEADLINE_S, request.param)) as serving:
        yield serving


def _dribble(sock: socket.socket, lines: list[bytes], pace: float) -> bytes:
    """Sends the first line, then the next each time the server stays silent for `pace`
    seconds; what the server answered once it closed, or b"never closed"."""
    sock.settimeout(pace)
    answer, waiting = b"", list(lines)
    sock.sendall(waiting.pop(0))
    while waiting:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            sock.sendall(waiting.pop(0))
            continue
        if not chunk:
            return answer
        answer += chunk
    return b"never closed"


def test_headers_sent_a_line_at_a_time_are_408_and_closed(port: int) -> None:
    lines = [b"GET / HTTP/1.1\r\n", b"Host: t\r\n"] + [b"X-Slow-%d: 1\r\n" % i for i in range(28)]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        answer = _dribble(sock, lines, pace=0.4)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"connection: close" in answer


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(DEADLINE_S * 10)
        assert sock.recv(4096) == b""


def test_a_second_request_slow_on_a_kept_connection_is_408(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        answer = _dribble(sock, [b"GET / HTTP/1.1\r\n"] + [b"X-Slow: 1\r\n"] * 29, pace=0.4)
    assert answer.startswith(b"HTTP/1.1 408"), answer


def test_keep_alive_outlasts_the_deadline_and_streams_are_untouched(port: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        first = client.get("/").text
        time.sleep(DEADLINE_S * 2)  # idle between requests: uvicorn's keep-alive (5 s) governs
        assert client.get("/").text == first  # the same connection (same client port)
        streamed = client.get("/stream")
    assert streamed.status_code == 200
    assert streamed.text.startswith("0\n1\n2\n3\n4\n5\n")
