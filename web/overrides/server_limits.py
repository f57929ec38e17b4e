"""What the server bounds before the app sees a request: how long its headers may take
(HEADER_TIMEOUT, else 408), how many bytes they may hold (MAX_HEADER_BYTES, else 431), and how
many connections the process holds open (MAX_CONNECTIONS, past it 503 at once).

uvicorn has none of the three: a socket sending one header line every 2 s held a connection
indefinitely, 20 MB of headers were read and answered 200, and 3,000 idle sockets were all kept.
The app cannot see any of it (it gets nothing before the headers are complete), so the bounds
live here, in a small subclass of uvicorn's HTTP protocol (uvicorn takes `http=<class>`), for
both of its parsers: httptools (used when installed, as with uvicorn[standard]) and h11.

Timing: the deadline is armed when the connection opens and when a byte arrives between
requests (after a response, where uvicorn's own keep-alive timer had been waiting); it is
cancelled as soon as the parser has made the request's cycle, i.e. the headers are complete.
The body's pace is the app's to bound (web/plumbing/body_limit.py).

Size: the bytes of a request's head are counted as they arrive, before the parser holds them
all; past the cap the client gets 431 and the connection is closed. httptools says where a head
begins and ends (`on_message_begin`, `on_headers_complete`), so a head that opens while another
request is in flight (pipelined behind an /events stream) is counted too; the chunk a head
begins in is counted whole (at most one read of the previous body's tail: a slight overcount,
never an undercount). h11 keeps its own buffer bound, which the count here only tightens.

Connections: uvicorn's `limit_concurrency` reads a whole request head before refusing (so idle
sockets are never refused), counts the connections already open, so every request of every
kept connection is refused once the cap is reached, and sends no Retry-After. Here a
connection past the cap is answered 503 with Retry-After the moment it is accepted, without
reading a byte, and closed; those already open are untouched. Why this and not granian:
docs/security.md.

What it relies on upstream (uvicorn 0.54, httptools 0.9, h11 0.16: uv.lock), canaried in
tests/unit/test_overrides.py: `http=` takes a protocol class; both protocol classes have
`connection_made(transport)` (which adds the protocol to the shared `connections` set),
`connection_lost(exc)` and `data_received(data)`, and the attributes `cycle` (None until a
request's head is parsed, then a new cycle with `response_complete`), `connections`,
`transport` and `loop`; httptools' parser calls `on_message_begin()` and
`on_headers_complete()` on the protocol. None of the three limits has a setting in 0.54 (nor
in the release notes up to 0.52): a request-head timeout was asked for in
Kludex/uvicorn#157 (`--timeout-request-start`, PR #1685 closed unmerged); a head-size cap
exists for h11 only (`h11_max_incomplete_event_size`, PR #1514), which answers 400, not 431,
and httptools' own cap cannot be set (#157, PR #1684 closed); `limit_concurrency` refuses
only once a head is read, counting every kept connection (its documentation, PR #3029).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from web.plumbing.replies import RETRY_AFTER_CONNECTIONS, retry_after

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover (httptools comes with uvicorn[standard])
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

MAX_HEADER_BYTES = 64 * 1024


def _answer(status: str, message: str, extra: dict[str, str] | None = None) -> bytes:
    body = message.encode() + b"\n"
    head = [
        f"HTTP/1.1 {status}",
        "content-type: text/plain; charset=utf-8",
        f"content-length: {len(body)}",
        *(f"{name.lower()}: {value}" for name, value in (extra or {}).items()),
        "connection: close",
    ]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


REQUEST_TIMEOUT = _answer("408 Request Timeout", "The request headers arrived too slowly.")
HEADERS_TOO_LARGE = _answer(
    "431 Request Header Fields Too Large", "The request headers are too large."
)
TOO_MANY_CONNECTIONS = _answer(
    "503 Service Unavailable",
    "The server holds as many connections as it can; try again shortly.",
    retry_after(RETRY_AFTER_CONNECTIONS),
)


class ServerLimits(asyncio.Protocol):
    """Put before a uvicorn HTTP protocol class in the bases; the class attributes are the
    limits (seconds, bytes, connections; `max_connections` None: no cap)."""

    header_timeout: float = 10.0
    max_header_bytes: int = MAX_HEADER_BYTES
    max_connections: int | None = None
    # uvicorn's protocol attributes this class reads (both parsers have them)
    cycle: Any
    connections: set[Any]
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _deadline: asyncio.TimerHandle | None = None
    _partial = False  # a byte of the awaited request has arrived: it gets a 408, not silence
    _head_bytes = 0  # bytes of the request head now arriving
    _refused = False  # answered and closing: what still arrives is read and dropped

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # uvicorn adds the connection to `connections`
        if self.max_connections is not None and len(self.connections) > self.max_connections:
            self._refuse(TOO_MANY_CONNECTIONS)
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        between_requests = self.cycle is None or self.cycle.response_complete
        if between_requests:
            if self._deadline is None:
                self._arm()
            self._partial = True
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # the parser made a new request: its headers are complete
            self._disarm()
        if self._head_open(between_requests, cycle):
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes and not self.transport.is_closing():
                self._refuse(HEADERS_TOO_LARGE)

    def _head_open(self, between_requests: bool, cycle: Any) -> bool:
        """Whether a request's head is still arriving after this chunk (the parser's view)."""
        return between_requests and self.cycle is cycle

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._partial = False
        self._head_bytes = 0

    def _expired(self) -> None:
        self._deadline = None
        in_flight = self.cycle is not None and not self.cycle.response_complete
        if in_flight or self.transport.is_closing():
            return  # a request made outside data_received (h11's pipelining): not ours to end
        if self._partial:
            self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        """The answer, then a delayed close: closing at once with the client's bytes unread makes
        the kernel reset the connection, and a client still sending lost the answer it had been
        sent (seen 1 run in 5). So: end our side, stop reading (the client's sends stall, nothing
        more is taken in), and close LINGER_S later, once the answer has been read."""
        self._disarm()
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(answer)  # not in the middle of another request's answer
        self._refused = True
        self.transport.pause_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


LINGER_S = 1.0


class H11Limits(ServerLimits, H11Protocol):
    pass


class HttpToolsLimits(ServerLimits):
    """httptools' callbacks mark where each head begins and ends, pipelined ones included."""

    _in_head = False

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        super().on_message_begin()  # type: ignore[misc]

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()  # type: ignore[misc]

    def _head_open(self, between_requests: bool, cycle: Any) -> bool:
        return self._in_head


def protocol_class(
    header_timeout: float,
    parser: str = "auto",
    *,
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_connections: int | None = None,
) -> type[asyncio.Protocol]:
    """uvicorn's `http=` for these limits: httptools when installed (or asked), else h11."""
    base: type[ServerLimits]
    if parser == "h11" or HttpToolsProtocol is None:
        base = H11Limits
    else:
        base = type("HttpTools", (HttpToolsLimits, HttpToolsProtocol), {})
    limits = {
        "header_timeout": header_timeout,
        "max_header_bytes": max_header_bytes,
        "max_connections": max_connections,
    }
    return type(base.__name__, (base,), limits)
