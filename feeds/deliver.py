"""The only module that POSTs to receivers: webhook deliveries, out through the fetcher's guarded network.

`Sender.post(url, body, headers)` makes one POST and returns the receiver's `Answer`, whatever its
status, or raises a `FetchError` when no answer came (refused address, connect failure, timeout, reset).
The limits are the fetcher's (`FetchPolicy`): the SSRF guard on every connection, one deadline for the
whole request, and at most `max_bytes` of the answer read (the rest is not read: a receiver's answer
says nothing we need beyond its status). Redirects are not followed: a 3xx is an answer like any other,
since following one would send the signed body somewhere its subscriber never named.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self, cast
from urllib.parse import unquote_to_bytes

import httpcore
import httpx

from feeds._network import FetchPolicy, checked_url, fetch_errors, network_backend, retry_after_seconds
from feeds._transport import core_pool, httpx_errors
from feeds.errors import FetchTimeoutError

__all__ = ["Answer", "Sender"]

_LATE = 1.0  # seconds httpx's own timeout trails the deadline by, so that the deadline's message wins


@dataclass(frozen=True, slots=True)
class Answer:
    """A receiver's answer to one POST."""

    status: int
    latency: float  # seconds until the answer's head arrived
    retry_after: float | None  # seconds, from Retry-After

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Sender:
    """POSTs to receivers over one connection pool (kept alive per host); close with `aclose()`.

    Straight on the httpcore pool the fetcher's client also stands on: a delivery needs none of what
    httpx adds (redirects, cookies, decoding), and without it a POST costs about two thirds of the CPU.
    """

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy
        self._pool = core_pool(network_backend(policy))
        self._headers = [(b"User-Agent", policy.user_agent.encode()), (b"Content-Type", b"application/json")]
        read = policy.total_timeout + _LATE
        self._timeouts = {"connect": policy.connect_timeout, "read": read, "write": read, "pool": read}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """POST `body` to `url`. Raises `FetchError` when no answer came within the deadline."""
        started = time.perf_counter()
        target = checked_url(url)
        request = httpcore.Request(
            b"POST",
            httpcore.URL(
                scheme=target.raw_scheme, host=target.raw_host, port=target.port, target=target.raw_path
            ),
            headers=[
                (b"Host", target.netloc),
                *self._headers,
                *_basic_auth(target),
                (b"Content-Length", str(len(body)).encode()),
                *((name.encode(), value.encode()) for name, value in headers.items()),
            ],
            content=body,
            extensions={"timeout": self._timeouts},
        )
        try:
            async with asyncio.timeout(self._policy.total_timeout):
                with fetch_errors(target, self._policy), httpx_errors():
                    response = await self._pool.handle_async_request(request)
                    try:
                        latency = time.perf_counter() - started
                        await self._drain(cast(AsyncIterable[bytes], response.stream))
                    finally:
                        await response.aclose()
        except TimeoutError as exc:
            raise FetchTimeoutError(
                f"{url} did not answer within {self._policy.total_timeout:g} s; "
                "raise TIMELINE_WEBHOOK_TIMEOUT if the receiver is just slow",
                url=url,
            ) from exc
        said = next((value for name, value in response.headers if name.lower() == b"retry-after"), None)
        retry_after = retry_after_seconds(said.decode("latin-1") if said else None, datetime.now(UTC))
        return Answer(response.status, latency, retry_after)

    async def _drain(self, stream: AsyncIterable[bytes]) -> None:
        """Read up to `max_bytes` of the answer, so its connection can serve the next POST; a longer
        answer is cut off (its connection then closes)."""
        read = 0
        async for chunk in stream:
            read += len(chunk)
            if read > self._policy.max_bytes:
                return


def _basic_auth(url: httpx.URL) -> list[tuple[bytes, bytes]]:
    """A receiver URL's credentials as Basic auth, as a browser or curl would send them."""
    if not url.userinfo:
        return []
    user, _, password = url.userinfo.partition(b":")
    pair = unquote_to_bytes(user) + b":" + unquote_to_bytes(password)
    return [(b"Authorization", b"Basic " + base64.b64encode(pair))]
