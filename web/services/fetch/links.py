"""A pasted link, read once into the one form every later step uses; and the link as logged.

The link is taken apart with the standard library and put together again without its user
name and password and with any IPv4 address in its canonical form, then parsed by httpx:
the host that is judged is then the host that is connected to, whatever either parser makes
of an odd link.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from web.services.fetch.addresses import IPAddress
from web.services.fetch.errors import BadScheme, BadUrl

SCHEMES = {"http": 80, "https": 443}
MAX_LINK_CHARS = 4096
LOGGED_CHARS = 300

# A host whose every label is a number (decimal, octal 0177, hex 0x7f): an IPv4 address in
# one of the forms inet_aton, and so the system resolver, reads (2130706433, 0177.0.0.1, 127.1).
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*\.?", re.I)
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*:)?//[^/?#]*@", re.I)


@dataclass(frozen=True)
class Link:
    url: httpx.URL
    host: str  # ASCII: an IDN's punycode, an IPv6 address without brackets
    port: int

    @property
    def literal(self) -> IPAddress | None:
        """The address, when the host is one: it is then checked, never looked up."""
        try:
            return ip_address(self.host)
        except ValueError:
            return None

    def follow(self, location: str) -> Link:
        """The link a redirect's Location names, read as strictly as a pasted one."""
        try:
            joined = self.url.join(location)
        except httpx.InvalidURL as error:
            raise BadUrl() from error
        return parse_link(str(joined))


def parse_link(text: str) -> Link:
    """The link, or BadUrl / BadScheme."""
    text = text.strip()
    if not text or len(text) > MAX_LINK_CHARS:
        raise BadUrl()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:  # a port out of range, a malformed [IPv6]
        raise BadUrl() from error
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise BadScheme() if scheme else BadUrl()
    if not parts.hostname or port == 0:
        raise BadUrl()
    host = _canonical_host(parts.hostname)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    try:
        url = httpx.URL(urlunsplit((scheme, netloc, parts.path, parts.query, "")))
    except httpx.InvalidURL as error:
        raise BadUrl() from error
    return Link(url=url, host=url.raw_host.decode("ascii"), port=url.port or SCHEMES[scheme])


def _canonical_host(host: str) -> str:
    """An IPv4 address written as one number, or in octal or hex, as a.b.c.d (as browsers do)."""
    if not _NUMERIC_HOST.fullmatch(host):
        return host
    try:
        return str(IPv4Address(socket.inet_aton(host.removesuffix("."))))
    except OSError as error:  # numbers, but no address (1.2.3.4.5, 99999999999)
        raise BadUrl() from error


def redacted(url: str) -> str:
    """The link as it may be logged: no user name or password, no control characters (a log
    line stays one line), at most LOGGED_CHARS characters."""
    clean = _USERINFO.sub(r"\1//", url.strip(), count=1)
    clean = "".join(
        char if char.isprintable() else quote(char, safe="", errors="backslashreplace")
        for char in clean
    )
    return clean if len(clean) <= LOGGED_CHARS else clean[:LOGGED_CHARS] + "..."
