"""Which addresses a fetch may reach: public ones that are not this server's, and allowed ones.

Every address a connection could reach is judged here, after resolution: a name, a literal,
and the IPv6 forms that carry an IPv4 address inside (mapped, compatible, translated, 6to4,
NAT64) are judged by the IPv4 address a packet would end at.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

# Written out beside ipaddress's flags, so that no Python's idea of "global" can widen what
# is reachable (3.11 calls ff02::1, 64:ff9b:1::1 and ::127.0.0.1 global).
_NOT_PUBLIC: tuple[Network, ...] = tuple(
    ip_network(block)
    for block in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 included
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local: cloud metadata at 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relays
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/128",
        "::1/128",
        "100::/64",  # discard
        "2001::/23",  # IETF protocols: Teredo, benchmarking, ORCHID
        "2001:db8::/32",
        "64:ff9b:1::/48",  # local-use NAT64: where the IPv4 address sits is the operator's
        "fc00::/7",  # unique-local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)

_COMPATIBLE = IPv6Network("::/96")  # ::a.b.c.d, deprecated, still routed by some stacks
_TRANSLATED = IPv6Network("::ffff:0:0:0/96")  # SIIT
_NAT64 = IPv6Network("64:ff9b::/96")


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The allow-list as networks; a malformed entry is the operator's error (ValueError)."""
    return tuple(ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def permitted(address: IPAddress, allowed: tuple[Network, ...]) -> bool:
    """True when a fetch may connect to address: it is allowed, or public and not ours."""
    inner = embedded_ipv4(address) if isinstance(address, IPv6Address) else None
    forms = (address,) if inner is None else (address, inner)
    if any(form in network for form in forms for network in allowed):
        return True
    return is_public(address) and not any(is_own_address(form) for form in forms)


def is_public(address: IPAddress) -> bool:
    """On the public internet, judged by the IPv4 address inside an IPv6 form that has one."""
    if isinstance(address, IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
    if any(address in network for network in _NOT_PUBLIC):
        return False
    flags = (
        address.is_private,
        address.is_loopback,
        address.is_link_local,
        address.is_multicast,
        address.is_reserved,
        address.is_unspecified,
    )
    return address.is_global and not any(flags)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address a packet to this IPv6 address ends at, for the forms that carry one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _COMPATIBLE or address in _TRANSLATED or address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_own_address(address: IPAddress) -> bool:
    """One of this machine's addresses: the kernel lets a socket bind only to those.

    (Unless `ip_nonlocal_bind` is set, when every address looks like ours and every fetch is
    refused: closed, not open.)
    """
    family = socket.AF_INET if isinstance(address, IPv4Address) else socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True
