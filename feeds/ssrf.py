"""The SSRF guard: upstream connections may only reach public addresses.

`is_public_address` is the policy, a pure predicate. `GuardedNetworkBackend` applies it where it cannot be
fooled: to the peer address of every TCP connection httpcore opens. Checking the connected socket rather
than a DNS answer defeats DNS rebinding (the name resolves to a public address when checked, to 127.0.0.1
when connected), and because every redirect hop opens its own connection, a public page that redirects
to an internal one is refused too. The price is a TCP handshake with the refused address; no request
bytes are ever sent to it.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import httpcore

from feeds.errors import RefusedAddressError

__all__ = ["GuardedNetworkBackend", "IPAddress", "IPNetwork", "is_public_address", "non_public_reason"]

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_ALLOW_HINT = "set TIMELINE_ALLOW_PRIVATE_SOURCES=1 to allow private sources"
RESOLVED_TTL = 30.0  # seconds a host's addresses are kept for the early check
RESOLVED_MAX = 4096  # hosts kept; past that the cache starts afresh
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
_METADATA = IPv4Address("169.254.169.254")
_SHARED = ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT; not `is_private` in Python
_NAT64 = ip_network("64:ff9b::/96")  # RFC 6052: the low 32 bits are the IPv4 destination

# First match wins, so the most telling name comes first (169.254.169.254 is also link-local).
_CHECKS: tuple[tuple[Callable[[IPAddress], bool], str], ...] = (
    (lambda ip: ip.is_unspecified, "an unspecified address"),
    (lambda ip: ip.is_loopback, "a loopback address"),
    (lambda ip: ip == _METADATA, "the cloud metadata address"),
    (lambda ip: ip.is_link_local, "a link-local address"),
    (lambda ip: ip.is_multicast, "a multicast address"),
    (lambda ip: ip.version == 4 and ip in _SHARED, "a shared (carrier-grade NAT) address"),
    # Python counts deprecated fec0::/10 as global, so ask explicitly.
    (lambda ip: isinstance(ip, IPv6Address) and ip.is_site_local, "a site-local address"),
    (lambda ip: ip.is_private, "a private address"),
    (lambda ip: ip.is_reserved, "a reserved address"),
    (lambda ip: not ip.is_global, "a non-public address"),
)


def non_public_reason(ip: IPAddress | str) -> str | None:
    """Why `ip` must not be connected to (e.g. "a loopback address"), or None for a public address."""
    address = ip_address(ip) if isinstance(ip, str) else ip
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return non_public_reason(embedded)
    return next((reason for check, reason in _CHECKS if check(address)), None)


def is_public_address(ip: IPAddress | str) -> bool:
    """True when `ip` is a public unicast address an upstream may live at."""
    return non_public_reason(ip) is None


def _embedded_ipv4(ip: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), which is what it reaches."""
    if isinstance(ip, IPv4Address):
        return None
    if ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFF_FFFF)
    return ip.ipv4_mapped or ip.sixtofour


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that refuses connections whose peer address is not public.

    `allowed_networks` are let through anyway (an intranet, or a test's fake upstream).
    """

    def __init__(
        self,
        *,
        allowed_networks: Iterable[IPNetwork] = (),
        backend: httpcore.AsyncNetworkBackend | None = None,
        resolve: Resolver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allowed = tuple(allowed_networks)
        self._backend = backend or httpcore.AnyIOBackend()
        self._resolve = resolve or _resolve
        self._clock = clock
        self._resolved: dict[str, tuple[float, list[IPAddress]]] = {}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        await self._refuse_before_connecting(host, port)
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        refusal = self._refusal(host, stream.get_extra_info("server_addr"))
        if refusal is not None:
            await stream.aclose()
            raise RefusedAddressError(refusal)
        return stream

    async def _refuse_before_connecting(self, host: str, port: int) -> None:
        """Refuse a host whose every address is refused, so a closed port still reads as refused.

        The connect-time check stays the one that counts: DNS may answer differently the second time.
        """
        literal = _ip_or_none(host)
        try:
            addresses = [literal] if literal else await self._addresses(host, port)
        except OSError:
            return  # let the connection attempt report the lookup failure in its own words
        refusals = [self._refusal(host, (str(ip), port)) for ip in addresses]
        if refusals and all(refusals):
            raise RefusedAddressError(str(refusals[0]))

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        """`host`'s addresses, looked up at most once per `RESOLVED_TTL` seconds.

        Only this early check uses them, so a stale answer lets nothing through: at worst it spares a
        connection the connect-time check would refuse anyway.
        """
        now = self._clock()
        cached = self._resolved.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
        addresses = await self._resolve(host, port)
        if len(self._resolved) >= RESOLVED_MAX:
            self._resolved.clear()
        self._resolved[host] = (now + RESOLVED_TTL, addresses)
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddressError(f"refusing to connect to the unix socket {path}: upstreams are TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)

    def _refusal(self, host: str, server_addr: object) -> str | None:
        """The refusal message for this connection, or None to allow it."""
        peer = _peer_ip(server_addr)
        if peer is None:  # Fail closed: an address we cannot read is not one we can vouch for.
            return f"could not tell which address {host} connected to, so it was refused"
        if any(peer in network for network in self._allowed):
            return None
        reason = non_public_reason(peer)
        if reason is None:
            return None
        where = f"{host} is" if _ip_or_none(host) == peer else f"{host} resolves to {peer},"
        return f"{where} {reason}; {_ALLOW_HINT}"


async def _resolve(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ip for ip in (_ip_or_none(str(info[4][0])) for info in infos) if ip is not None]


def _peer_ip(server_addr: object) -> IPAddress | None:
    """The IP of a socket's `(host, port, ...)` peer address, if it is one."""
    if not isinstance(server_addr, tuple) or not server_addr or not isinstance(server_addr[0], str):
        return None
    return _ip_or_none(server_addr[0])


def _ip_or_none(text: str) -> IPAddress | None:
    try:
        return ip_address(text)
    except ValueError:
        return None
