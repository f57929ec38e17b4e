"""Fetch a picture from a link a member pasted, as if every server on the way were hostile.

`fetch_picture(url, ...)` returns a `FetchedPicture` or raises a `FetchError` (a stable
`code`, a member-facing `message`); `redacted(url)` is the link as it may be logged. The rules
and the attacks they stop: docs/security.md, "Fetching a link".

Why not a package. Two maintained ones wrap httpx for SSRF, and each misses rules we need:

- safehttpx (gradio-app, 0.1.x): async only (`await safehttpx.get`); it follows no redirects
  at all, so no hop is checked; its `is_public_ip` is ipaddress's flags, which on Python 3.11
  pass `::127.0.0.1`, `2002:7f00:1::` (6to4) and `64:ff9b::7f00:1` (NAT64), all loopback;
  it falls back to Google's public DNS when the system resolver gives no public address (a
  second lookup, from another resolver, and a network call we did not ask for); its
  allow-list is of domain names, which then skip every check, not of networks; no size cap
  or deadline.
- httpx-secure (1.x): async only (an `AsyncClient` event hook); it "resolves" by opening a
  TCP connection to the name and reading the peer address, so a first connection is made
  before any check; it caches each answer for 10 minutes per host and port; its check is
  `is_global`, with the same 3.11 gaps, and a custom validator can only narrow it, so an
  operator's intranet cannot be allowed without dropping the public check; no size cap or
  total deadline.

So this package is built on httpx's own parts: httpx parses the link and makes the TLS
context, and httpcore (httpx's transport, through its documented network-backend hook)
makes the connection to the address checked. No HTTP is written by hand, and neither
proxies from the environment nor .netrc are ever consulted.
"""

from __future__ import annotations

from web.services.fetch.errors import (
    BadAnswer,
    BadScheme,
    BadUrl,
    ErrorStatus,
    FetchError,
    FetchTimeout,
    NotAPicture,
    NotPublic,
    TooLarge,
    TooManyRedirects,
    Unreachable,
)
from web.services.fetch.fetcher import FetchedPicture, fetch_picture
from web.services.fetch.links import redacted

__all__ = [
    "BadAnswer",
    "BadScheme",
    "BadUrl",
    "ErrorStatus",
    "FetchError",
    "FetchTimeout",
    "FetchedPicture",
    "NotAPicture",
    "NotPublic",
    "TooLarge",
    "TooManyRedirects",
    "Unreachable",
    "fetch_picture",
    "redacted",
]
