"""The client's address: the one answer for the stream cap, every rate limit and the logs.

The peer's address, unless the peer is a trusted proxy (TRUSTED_PROXIES): then the
X-Forwarded-For header is read from the right, skipping trusted proxies, and the first address
that is not one is the client. Without trusted proxies the header is ignored: anyone can send it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar.types import Scope

from web.settings import Network

_KEY = "ppsync.client_address"


def client_address(scope: Scope) -> str:
    """The address a request comes from, as the app counts it (computed once per request)."""
    state = scope.setdefault("state", {})
    address: str | None = state.get(_KEY)
    if address is None:
        app = scope.get("app")
        trusted = app.state["settings"].trusted_proxies if app is not None else ()
        address = state[_KEY] = address_of(scope, trusted)
    return address


def address_of(scope: Scope, trusted: tuple[Network, ...]) -> str:
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = _forwarded_for(scope)
    for hop in reversed(forwarded):
        if not _is_trusted(hop, trusted):
            return hop
    return forwarded[0] if forwarded else peer


def _forwarded_for(scope: Scope) -> list[str]:
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"]
    hops = [hop.strip() for value in values for hop in value.split(",")]
    return [hop for hop in hops if _is_address(hop)]


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(text: str, trusted: tuple[Network, ...]) -> bool:
    try:
        address: Any = ipaddress.ip_address(text)
    except ValueError:
        return False
    return any(address in network for network in trusted)
