"""Which network addresses the hub may connect to: public ones, and those an operator allows.

A source URL names a host; the host resolves to addresses. The hub connects only when every
address the host resolves to is public, or is covered by ``SCO_FETCH_ALLOW_NETWORKS`` (a
network, a single address, or the host's name). Loopback, private, link-local, shared
(carrier-grade NAT), multicast, reserved and unspecified addresses are not public, nor is an
IPv6 address that carries a non-public IPv4 address inside it (IPv4-mapped, 6to4, Teredo,
NAT64).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field

from spaceclimate.errors import InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The setting an :class:`AllowList` is read from (named in its errors).
SETTING = "SCO_FETCH_ALLOW_NETWORKS"

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 address stands for or carries, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Return True when *ip* is a globally routed unicast address (and carries no other)."""
    if (
        not ip.is_global
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_reserved
    ):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_public(inner)
    return True


def literal_address(host: str) -> IPAddress | None:
    """Return *host* as an address when it is one (``127.0.0.1``, ``::1``), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class AllowList:
    """Non-public networks and host names an operator lets the hub fetch from."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """Read a comma-separated list of networks, addresses and host names.

        Raises
        ------
        spaceclimate.errors.InputError
            When an entry is neither a network nor a host name.
        """
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in text.split(","):
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            if not _HOSTNAME.match(name):
                raise InputError(f"{SETTING}: {entry!r} is neither a network nor a host name")
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def admits(self, host: str, ip: IPAddress) -> bool:
        """Return True when the hub may connect to *ip*, an address of *host*."""
        if is_public(ip) or host.lower().rstrip(".") in self.hosts:
            return True
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address):
            inner = embedded_ipv4(ip)
            if inner is not None:
                candidates.append(inner)
        return any(
            candidate in network
            for candidate in candidates
            for network in self.networks
            if network.version == candidate.version
        )


class AddressRefused(Exception):
    """A host resolves to an address the rules do not admit (the reason is for the log)."""


Endpoint = tuple[socket.AddressFamily, tuple[str, int] | tuple[str, int, int, int]]


def admitted_endpoints(host: str, port: int, allowed: AllowList) -> list[Endpoint]:
    """Resolve *host* and return the socket addresses to connect to, every one admitted.

    Raises
    ------
    AddressRefused
        When the host does not resolve, or any address it resolves to is not admitted:
        one such address refuses them all, whatever the order a resolver gives them in.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"{host} does not resolve ({exc})") from None
    endpoints: list[Endpoint] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if not allowed.admits(host, ip):
            raise AddressRefused(f"{host} resolves to {ip}, which is not public ({SETTING})")
        endpoint: Endpoint = (family, sockaddr)  # type: ignore[assignment]
        if endpoint not in endpoints:
            endpoints.append(endpoint)
    if not endpoints:
        raise AddressRefused(f"{host} has no internet address")
    return endpoints
