"""Where the current call comes from: the client's address, for audit rows and rate limits.

Behind Envoy every call arrives from Envoy's address, and the client's is the last entry
Envoy appended to `x-forwarded-for`. That header is believed only when the peer is a
trusted proxy (TRUSTED_PROXIES), since any other caller could write whatever it likes there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from contextvars import ContextVar

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

client_address_var: ContextVar[str | None] = ContextVar("client_address", default=None)


def client_address() -> str | None:
    """The current call's client address (an IP), or None outside a call."""
    return client_address_var.get()


def parse_networks(text: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, 192.168.1.7` -> networks; ValueError names the first bad entry."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def peer_ip(peer: str) -> str:
    """gRPC's peer string (`ipv4:10.1.2.3:5555`, `ipv6:[::1]:5555`, `unix:...`) -> the IP."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    if kind == "ipv6":
        return rest.rpartition(":")[0].strip("[]").split("%")[0]
    return kind


def resolve(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the last
    valid address in x-forwarded-for (the one that proxy appended)."""
    ip = peer_ip(peer)
    if forwarded_for and trusted and _within(ip, trusted):
        for candidate in reversed([part.strip() for part in forwarded_for.split(",")]):
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                continue
    return ip


def _within(ip: str, networks: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)
