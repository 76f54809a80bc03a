"""An httpx transport over an httpcore pool, so `feeds.fetch` can install its own network backend."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Protocol, cast

import httpcore
import httpx


def core_pool(network_backend: httpcore.AsyncNetworkBackend) -> httpcore.AsyncConnectionPool:
    """The connection pool every request of feeds goes through, over `network_backend` (the guard)."""
    return httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        # httpx's own defaults; the callers' semaphores are what limit concurrency.
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=network_backend,
    )


class PoolTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore pool that uses our network backend.

    `httpx.AsyncHTTPTransport` takes no network backend, so this adapter does the little it would:
    translate the request, the response and httpcore's exceptions.
    """

    def __init__(self, network_backend: httpcore.AsyncNetworkBackend) -> None:
        self._pool = core_pool(network_backend)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = httpcore.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        )
        core_request = httpcore.Request(
            request.method,
            url,
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        # An async pool always answers with an async, closable stream.
        stream = _ResponseStream(cast(_CoreStream, response.stream))
        return httpx.Response(
            response.status, headers=response.headers, stream=stream, extensions=response.extensions
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _CoreStream(AsyncIterable[bytes], Protocol):
    async def aclose(self) -> None: ...


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: _CoreStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with httpx_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


# httpcore's errors as the httpx errors the client and `feeds._network` expects; most specific first.
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


@contextmanager
def httpx_errors() -> Iterator[None]:
    """httpcore's errors, raised as their httpx twins (which `feeds._network.fetch_errors` words)."""
    try:
        yield
    except Exception as exc:
        twin = next((twin for core, twin in _HTTPX_ERRORS if isinstance(exc, core)), None)
        if twin is None:
            raise
        raise twin(str(exc)) from exc
