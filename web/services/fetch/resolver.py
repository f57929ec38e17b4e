"""The one lookup each hop makes, bounded by the fetch's deadline.

Tests replace `resolve` (the lookup itself); `resolve_within` calls it through the module, so
the replacement is what runs.
"""

from __future__ import annotations

import socket
import threading
from ipaddress import ip_address

from web.services.fetch.addresses import IPAddress
from web.services.fetch.errors import FetchTimeout, Unreachable


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for host, in its order, each once."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def resolve_within(host: str, port: int, seconds: float) -> list[IPAddress]:
    """resolve(), in a thread of its own: getaddrinfo has no timeout, and a resolver that
    hangs must not hold the fetch past its deadline (the thread ends when the resolver does)."""
    outcome: list[list[IPAddress] | BaseException] = []

    def lookup() -> None:
        try:
            outcome.append(resolve(host, port))
        except BaseException as error:  # handed to the caller's thread, below
            outcome.append(error)

    thread = threading.Thread(target=lookup, name="fetch-resolve", daemon=True)
    thread.start()
    thread.join(max(seconds, 0.0))
    if not outcome:
        raise FetchTimeout()
    result = outcome[0]
    if isinstance(result, (OSError, UnicodeError, ValueError)):  # unknown name, bad IDNA
        raise Unreachable() from result
    if isinstance(result, BaseException):
        raise result
    if not result:
        raise Unreachable()
    return result
