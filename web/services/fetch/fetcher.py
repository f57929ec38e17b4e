"""Fetch the picture a link names, hop by hop, every hop checked like the first.

A hop: read the link (links.py), resolve its host once (resolver.py) and check every address
(addresses.py), connect only to those (connection.py), send one GET, and either follow a
redirect (a new hop), refuse, or read the body under the size cap. The whole fetch, every hop
and lookup included, ends by one deadline.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import httpcore
import httpx

from web.services.fetch import resolver
from web.services.fetch.addresses import IPAddress, Network, parse_networks, permitted
from web.services.fetch.connection import Deadline, PinnedBackend
from web.services.fetch.errors import (
    MIB,
    BadAnswer,
    ErrorStatus,
    FetchError,
    FetchTimeout,
    NotAPicture,
    NotPublic,
    TooLarge,
    TooManyRedirects,
    Unreachable,
)
from web.services.fetch.links import Link, parse_link, redacted

log = logging.getLogger("ppsync.fetch")

MAX_BYTES = 10 * MIB  # the upload cap's default (MAX_UPLOAD_BYTES)
DEADLINE_SECONDS = 10.0
CONNECT_SECONDS = 3.0
MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = b"ProfilePictureSync (picture import)"


@dataclass(frozen=True)
class FetchedPicture:
    url: str  # the link the picture came from, after redirects, without credentials
    content_type: str
    body: bytes


@dataclass(frozen=True)
class _Rules:
    max_bytes: int
    connect_seconds: float
    allowed: tuple[Network, ...]
    ssl_context: ssl.SSLContext


def fetch_picture(
    url: str,
    *,
    max_bytes: int = MAX_BYTES,
    deadline: float = DEADLINE_SECONDS,
    connect_timeout: float = CONNECT_SECONDS,
    allowed_networks: Sequence[str] = (),
    max_redirects: int = MAX_REDIRECTS,
    ssl_context: ssl.SSLContext | None = None,
) -> FetchedPicture:
    """The picture at url, or a FetchError saying why not. Blocking: run it in a worker thread.

    `allowed_networks` (CIDRs) may be reached although not public, and allow-listing is the
    only way to reach this server's own addresses. `ssl_context` defaults to httpx's
    (certifi's roots, certificates verified).
    """
    rules = _Rules(
        max_bytes=max_bytes,
        connect_seconds=connect_timeout,
        allowed=parse_networks(allowed_networks),
        ssl_context=ssl_context or _verifying_context(),
    )
    clock = Deadline(deadline)
    try:
        link = parse_link(url)
        for _redirects in range(max_redirects + 1):
            answer = _hop(link, rules, clock)
            if isinstance(answer, FetchedPicture):
                return answer
            link = answer
        raise TooManyRedirects(max_redirects)
    except FetchError as refusal:
        log.info("fetch refused (%s): %s", refusal.code, redacted(url))
        raise


@functools.cache
def _verifying_context() -> ssl.SSLContext:
    """httpx's context (certifi's roots, names checked), made once: loading the roots takes
    a tenth of a second or more."""
    return httpx.create_ssl_context()


def _hop(link: Link, rules: _Rules, clock: Deadline) -> FetchedPicture | Link:
    """One request: the picture, or the link a redirect points to."""
    addresses = _checked_addresses(link, rules.allowed, clock)
    backend = PinnedBackend(link.host, link.port, addresses, clock)
    url = link.url
    target = httpcore.URL(
        scheme=url.raw_scheme, host=url.raw_host, port=link.port, target=url.raw_path
    )
    headers = [
        (b"Host", url.netloc),
        (b"User-Agent", USER_AGENT),
        (b"Accept", b"image/*"),
        (b"Accept-Encoding", b"identity"),
    ]
    timeouts = {"connect": rules.connect_seconds, "read": None, "write": None, "pool": None}
    with (
        _network_errors(clock),
        httpcore.ConnectionPool(
            ssl_context=rules.ssl_context, network_backend=backend, max_connections=1
        ) as pool,
        pool.stream("GET", target, headers=headers, extensions={"timeout": timeouts}) as answer,
    ):
        return _read_answer(link, answer, rules.max_bytes)


def _checked_addresses(
    link: Link, allowed: tuple[Network, ...], clock: Deadline
) -> list[IPAddress]:
    """The host's addresses, looked up once: every one must be permitted, or none is used."""
    literal = link.literal
    if literal is not None:
        addresses = [literal]
    else:
        addresses = resolver.resolve_within(link.host, link.port, clock.remaining())
    if not all(permitted(address, allowed) for address in addresses):
        raise NotPublic()
    return addresses


def _read_answer(link: Link, answer: httpcore.Response, max_bytes: int) -> FetchedPicture | Link:
    headers = httpx.Headers(answer.headers)
    if answer.status in REDIRECTS and "location" in headers:
        return link.follow(headers["location"])
    if not 200 <= answer.status < 300:
        raise ErrorStatus(answer.status)
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type.startswith("image/"):
        raise NotAPicture()
    if headers.get("content-encoding", "identity").lower() != "identity":
        raise BadAnswer()  # asked for identity; a compressed body could swell past the cap
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(max_bytes)
    body = _read_capped(answer, max_bytes)
    return FetchedPicture(url=str(link.url), content_type=content_type, body=body)


def _read_capped(answer: httpcore.Response, max_bytes: int) -> bytes:
    """The body, refused as soon as it passes max_bytes, whatever Content-Length said."""
    chunks: list[bytes] = []
    size = 0
    for chunk in answer.iter_stream():
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


@contextmanager
def _network_errors(clock: Deadline) -> Iterator[None]:
    """httpcore's and the socket's errors as refusals; any error past the deadline is late."""
    try:
        yield
    except FetchError:
        raise
    except httpcore.TimeoutException as error:
        raise FetchTimeout() from error
    except (httpcore.ConnectError, ssl.SSLError) as error:
        raise (FetchTimeout() if clock.expired() else Unreachable()) from error
    except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as error:
        raise (FetchTimeout() if clock.expired() else BadAnswer()) from error
