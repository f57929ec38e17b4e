"""A minimal clamd client: INSTREAM over a Unix socket (a path) or TCP (`tcp://host:port`)."""

from __future__ import annotations

import contextlib
import socket
import struct
from urllib.parse import urlsplit

CHUNK = 64 * 1024


class ScanFailed(Exception):
    """clamd could not be reached, did not answer in time, or answered with an error."""


def scan(data: bytes, *, socket_path: str, timeout: float = 10.0) -> str | None:
    """The signature name when clamd flags data, None when it is clean.

    `timeout` bounds each wait on clamd (connecting, sending, the verdict), not the whole scan.
    """
    try:
        with _connect(socket_path, timeout) as conn:
            # clamd stops reading at a limit and closes: its reply says why.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                _send(conn, data)
            reply = _receive(conn)
    except OSError as error:  # unreachable, refused, timed out
        raise ScanFailed(f"clamd at {socket_path}: {error}") from error
    return _verdict(reply)


def _connect(address: str, timeout: float) -> socket.socket:
    if not address.startswith("tcp://"):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(timeout)
        try:
            conn.connect(address)
        except OSError:
            conn.close()
            raise
        return conn
    try:
        url = urlsplit(address)
        host, port = url.hostname, url.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise ScanFailed(f"CLAMD_SOCKET {address!r} is not tcp://host:port")
    return socket.create_connection((host, port), timeout=timeout)


def _send(conn: socket.socket, data: bytes) -> None:
    conn.sendall(b"zINSTREAM\0")
    for start in range(0, len(data), CHUNK):
        chunk = data[start : start + CHUNK]
        conn.sendall(struct.pack(">I", len(chunk)) + chunk)
    conn.sendall(struct.pack(">I", 0))


def _receive(conn: socket.socket) -> bytes:
    reply = b""
    while not reply.endswith(b"\0") and (part := conn.recv(4096)):
        reply += part
    return reply


def _verdict(reply: bytes) -> str | None:
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if text == "stream: OK":
        return None
    if text.startswith("stream: ") and text.endswith(" FOUND"):
        return text.removeprefix("stream: ").removesuffix(" FOUND")
    raise ScanFailed(f"clamd answered {text!r}" if text else "clamd closed without an answer")
