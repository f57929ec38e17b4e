"""Slow headers: a request's headers must all arrive within HEADER_TIMEOUT seconds of its first
byte (of the connection opening, for the first request), else 408 and the connection is closed.

uvicorn has no header-read timeout: a socket sending one header line every 2 s holds a
connection, and a slot of every limit that counts connections, indefinitely. The app cannot see
such a request (it gets nothing before the headers are complete), so the bound is kept here, in
a small subclass of uvicorn's HTTP protocol (uvicorn takes `http=<class>`), for both of its
parsers: httptools (used when installed, as with uvicorn[standard]) and h11.

The deadline is armed when the connection opens and when a byte arrives between requests
(after a response, where uvicorn's own keep-alive timer had been waiting); it is cancelled as
soon as the parser has made the request's cycle, i.e. the headers are complete. The body's
pace is the app's to bound (web/body_limit.py). Why this and not granian: docs/security.md.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover (httptools comes with uvicorn[standard])
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

_MESSAGE = b"The request headers arrived too slowly.\n"
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_MESSAGE)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _MESSAGE
)


class HeaderDeadline(asyncio.Protocol):
    """Put before a uvicorn HTTP protocol class in the bases; `header_timeout` in seconds."""

    header_timeout: float = 10.0
    # uvicorn's protocol attributes this class reads (both parsers have them)
    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _deadline: asyncio.TimerHandle | None = None
    _partial = False  # a byte of the awaited request has arrived: it gets a 408, not silence

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        between_requests = self.cycle is None or self.cycle.response_complete
        if between_requests:
            if self._deadline is None:
                self._arm()
            self._partial = True
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # the parser made a new request: its headers are complete
            self._disarm()

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._partial = False

    def _expired(self) -> None:
        self._deadline = None
        in_flight = self.cycle is not None and not self.cycle.response_complete
        if in_flight or self.transport.is_closing():
            return  # a request made outside data_received (h11's pipelining): not ours to end
        if self._partial:
            self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()


class H11HeaderDeadline(HeaderDeadline, H11Protocol):
    pass


def protocol_class(header_timeout: float, parser: str = "auto") -> type[asyncio.Protocol]:
    """uvicorn's `http=` for this timeout: httptools when installed (or asked), else h11."""
    if parser == "h11" or HttpToolsProtocol is None:

        class H11(H11HeaderDeadline):
            pass

        H11.header_timeout = header_timeout
        return H11

    class HttpTools(HeaderDeadline, HttpToolsProtocol):
        pass

    HttpTools.header_timeout = header_timeout
    return HttpTools
