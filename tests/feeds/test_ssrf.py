"""`feeds.ssrf`: the address policy, and the connect-time check on real sockets.

End-to-end refusals through `Fetcher` (including a redirect to loopback) are in test_fetch.py.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from ipaddress import IPv4Address, IPv6Address, ip_network

import httpcore
import pytest

from feeds.errors import RefusedAddressError
from feeds.ssrf import GuardedNetworkBackend, is_public_address, non_public_reason

REFUSED = [
    ("0.0.0.0", "an unspecified address"),
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "the cloud metadata address"),
    ("169.254.1.1", "a link-local address"),
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("100.100.100.200", "a shared (carrier-grade NAT) address"),  # Alibaba Cloud metadata
    ("224.0.0.1", "a multicast address"),
    ("240.0.0.1", "a private address"),
    ("255.255.255.255", "a private address"),
    ("192.0.2.1", "a private address"),  # TEST-NET-1
    ("198.18.0.1", "a private address"),  # benchmarking
    ("::", "an unspecified address"),
    ("::1", "a loopback address"),
    ("fe80::1", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"),
    ("fd00:ec2::254", "a private address"),  # AWS metadata over IPv6
    ("fc00::1", "a private address"),
    ("ff02::1", "a multicast address"),
    ("fec0::1", "a site-local address"),
    ("2001:db8::1", "a private address"),  # documentation
    ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped
    ("::ffff:169.254.169.254", "the cloud metadata address"),
    ("::ffff:10.0.0.1", "a private address"),
    ("64:ff9b::7f00:1", "a loopback address"),  # NAT64 of 127.0.0.1
    ("2002:7f00:1::", "a loopback address"),  # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::", "the cloud metadata address"),  # 6to4 of 169.254.169.254
    ("::7f00:1", "a reserved address"),  # IPv4-compatible, deprecated
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "151.101.1.111",
    "2606:4700:4700::1111",
    "2a00:1450:4001:81b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::",
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_non_public_addresses_are_refused_with_a_reason(address: str, reason: str) -> None:
    assert non_public_reason(address) == reason
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert non_public_reason(address) is None
    assert is_public_address(address)


def test_accepts_address_objects() -> None:
    assert not is_public_address(IPv4Address("127.0.0.1"))
    assert is_public_address(IPv6Address("2606:4700:4700::1111"))


@pytest.fixture
async def listener() -> AsyncIterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and waits for the client to hang up."""

    async def wait_for_hangup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()
        await writer.wait_closed()

    async with await asyncio.start_server(wait_for_hangup, "127.0.0.1", 0) as server:
        yield server.sockets[0].getsockname()[1]


async def test_refuses_a_loopback_peer(listener: int) -> None:
    with pytest.raises(
        RefusedAddressError,
        match="^" + re.escape("127.0.0.1 is a loopback address; set TIMELINE_ALLOW_PRIVATE"),
    ):
        await GuardedNetworkBackend().connect_tcp("127.0.0.1", listener)


async def test_checks_the_address_a_name_resolved_to(listener: int) -> None:
    with pytest.raises(
        RefusedAddressError, match="^" + re.escape("localhost resolves to 127.0.0.1, a loopback address")
    ):
        await GuardedNetworkBackend().connect_tcp("localhost", listener)


async def test_allowed_networks_let_a_peer_through(listener: int) -> None:
    backend = GuardedNetworkBackend(allowed_networks=[ip_network("127.0.0.0/8")])
    stream = await backend.connect_tcp("127.0.0.1", listener)
    assert stream.get_extra_info("server_addr") == ("127.0.0.1", listener)
    await stream.aclose()


async def test_allowed_networks_are_exact(listener: int) -> None:
    backend = GuardedNetworkBackend(allowed_networks=[ip_network("127.0.0.2/32")])
    with pytest.raises(RefusedAddressError):
        await backend.connect_tcp("127.0.0.1", listener)


async def test_fails_closed_when_the_peer_is_unknown() -> None:
    backend = GuardedNetworkBackend(backend=httpcore.AsyncMockBackend([]))  # its streams have no address
    with pytest.raises(
        RefusedAddressError, match=re.escape("could not tell which address example.org connected to")
    ):
        await backend.connect_tcp("example.org", 80)


async def test_unix_sockets_are_refused() -> None:
    with pytest.raises(RefusedAddressError, match="unix socket"):
        await GuardedNetworkBackend().connect_unix_socket("/run/docker.sock")
