"""How a refusal is said, below every layer that refuses (web/errors.py's map, the id bounds,
the stream, the server's connection cap): the one negotiation rule (problem+json to the JSON
API, a page to everything else), the seconds each kind of refusal asks the client to wait, and
the one place the Retry-After header is built."""

from __future__ import annotations

from collections.abc import Mapping

# Seconds a refusal asks the client to wait (Retry-After), where no throttle counts them.
RETRY_AFTER_DATABASE = 5  # the database away: the pool reconnects as soon as it answers
RETRY_AFTER_STORE = 10  # the picture bucket away
RETRY_AFTER_SCANNER = 30  # the virus scanner down: a retry soon may pass
RETRY_AFTER_HASHING = 1  # the password queue full: a hash takes about a quarter of a second
RETRY_AFTER_CONNECTIONS = 5  # past MAX_CONNECTIONS: streams come and go, try again soon
RETRY_AFTER_DRAINING = 1  # a stream refused by a process shutting down: the next reaches another
RETRY_AFTER_STREAMS = 30  # an address already holds EVENTS_PER_CLIENT streams


def wants_json(path: str) -> bool:
    """The one negotiation rule: the JSON API's paths get problem+json, every other a page."""
    return path.startswith("/api/")


def retry_after(seconds: int) -> dict[str, str]:
    """The header of a refusal that asks the client to wait `seconds`."""
    return {"Retry-After": str(seconds)}


def raw_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    """Headers as ASGI sends them, for an answer made outside Litestar (the stream's)."""
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


def service_headers(status: int) -> dict[str, str]:
    """A picture service's refusal: its 503 is the virus scanner down, worth a retry soon."""
    return retry_after(RETRY_AFTER_SCANNER) if status == 503 else {}
