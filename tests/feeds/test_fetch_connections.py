"""What a poll's connection costs: `feeds.fetch` reuses a host's connection (no new TCP or TLS handshake),
after a 304 as after a 200, and the SSRF guard looks a host up at most once per TTL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import ip_address, ip_network

import pytest

from feeds.errors import RefusedAddressError
from feeds.fetch import Fetcher, FetchPolicy
from feeds.ssrf import RESOLVED_TTL, GuardedNetworkBackend, IPAddress

LOCAL = FetchPolicy(allow_private=True, connect_timeout=2.0, total_timeout=10.0)
BODY = b'{"entries": []}'


@asynccontextmanager
async def keep_alive_upstream() -> AsyncIterator[tuple[str, list[int]]]:
    """An HTTP/1.1 server that answers many requests per connection: 200 with ETag "v1", or 304 when the
    request sends it. Yields its URL and the number of requests served on each connection."""
    served: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(0)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).lower()
                served[-1] += 1
                if b'if-none-match: "v1"' in head:
                    writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n')
                else:
                    length = b"Content-Length: %d\r\n" % len(BODY)
                    writer.write(b'HTTP/1.1 200 OK\r\nETag: "v1"\r\n' + length + b"\r\n" + BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/blog", served


async def test_polls_of_a_host_reuse_one_connection_after_200_and_304() -> None:
    async with keep_alive_upstream() as (url, served), Fetcher(LOCAL) as fetcher:
        first = await fetcher.fetch(url)
        second = await fetcher.fetch(url, etag=first.etag)
        third = await fetcher.fetch(url, etag=second.etag)

        assert [first.status, second.status, third.status] == [200, 304, 304]
        assert (first.body, second.body, third.body) == (BODY, b"", b"")
        assert served == [3]


@asynccontextmanager
async def listener() -> AsyncIterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and closes them."""

    async def close(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(close, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


class Resolver:
    """Answers every lookup with `address`, and counts them."""

    def __init__(self, address: str) -> None:
        self.address = ip_address(address)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        return [self.address]


async def connect(backend: GuardedNetworkBackend, host: str, port: int) -> None:
    stream = await backend.connect_tcp(host, port)
    await stream.aclose()


async def test_the_ssrf_guard_looks_a_host_up_once_per_ttl() -> None:
    resolver, now = Resolver("127.0.0.1"), [0.0]
    backend = GuardedNetworkBackend(
        allowed_networks=[ip_network("127.0.0.0/8")], resolve=resolver, clock=lambda: now[0]
    )
    async with listener() as port:
        await connect(backend, "localhost", port)
        await connect(backend, "localhost", port)
        assert resolver.lookups == ["localhost"]
        now[0] += RESOLVED_TTL
        await connect(backend, "localhost", port)
    assert resolver.lookups == ["localhost", "localhost"]


async def test_a_stale_lookup_lets_nothing_through() -> None:
    """The name "was" public when looked up; the connection reaches loopback, and that is what counts."""
    backend = GuardedNetworkBackend(resolve=Resolver("93.184.216.34"))
    async with listener() as port:
        with pytest.raises(RefusedAddressError, match=r"resolves to 127\.0\.0\.1, a loopback address"):
            await connect(backend, "localhost", port)
