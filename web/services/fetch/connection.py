"""The connection of one hop: made only to the addresses checked, and never past the deadline.

httpcore (httpx's own engine) takes a network backend, its documented hook for how a
connection is opened. This one is given the host, port and addresses a hop resolved and
checked: asked for that host it connects to those addresses, asked for any other it refuses.
The host name still drives everything above the socket: the Host header, TLS SNI and the
certificate check. Every read, write and handshake of the connection is given at most the
time left before the fetch's deadline, so neither a server that never answers nor one that
sends a byte a second can hold a fetch past it.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore

from web.services.fetch.addresses import IPAddress


class Deadline:
    """A moment on the monotonic clock, and the time left until it."""

    def __init__(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def clip(self, timeout: float | None, error: type[Exception]) -> float:
        """timeout, cut to the time left; error (an httpcore timeout) when none is left."""
        left = self.remaining() if timeout is None else min(timeout, self.remaining())
        if left <= 0:
            raise error("the fetch's deadline has passed")
        return left


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every wait ends by the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clip(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.clip(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # The handshake's socket timeout bounds the whole handshake (CPython's _ssl keeps
        # one deadline across its reads), so a drip-fed certificate stops here too.
        wait = self._deadline.clip(timeout, httpcore.ConnectTimeout)
        secured = self._stream.start_tls(ssl_context, server_hostname, wait)
        return DeadlineStream(secured, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Connects host:port to the addresses resolved and checked for it, and nowhere else."""

    def __init__(
        self, host: str, port: int, addresses: Sequence[IPAddress], deadline: Deadline
    ) -> None:
        self._host = host
        self._port = port
        self._addresses = tuple(addresses)
        self._deadline = deadline
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if (host, port) != (self._host, self._port):
            raise httpcore.ConnectError(f"{host}:{port} is not the address that was checked")
        # One budget for every address tried: the connect deadline is the hop's, not each's.
        budget = Deadline(self._deadline.clip(timeout, httpcore.ConnectTimeout))
        failure: Exception = httpcore.ConnectError("no address to connect to")
        for address in self._addresses:
            wait = budget.clip(None, httpcore.ConnectTimeout)
            try:
                stream = self._sockets.connect_tcp(
                    str(address), port, timeout=wait, socket_options=socket_options
                )
            except httpcore.ConnectError as error:  # refused, unreachable: try the next
                failure = error
                continue
            return DeadlineStream(stream, self._deadline)
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("a fetch never opens a Unix socket")
