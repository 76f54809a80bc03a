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
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

import httpx

from feeds._transport import PoolTransport
from feeds.errors import FetchTimeoutError
from feeds.fetch import FetchPolicy, _checked_url, _fetch_errors, _network_backend, _retry_after

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

    `transport` replaces the network (tests), and with it the SSRF guard.
    """

    def __init__(self, policy: FetchPolicy, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._policy = policy
        self._client = httpx.AsyncClient(
            transport=transport or PoolTransport(_network_backend(policy)),
            headers={"User-Agent": policy.user_agent, "Content-Type": "application/json"},
            timeout=httpx.Timeout(policy.total_timeout + _LATE, connect=policy.connect_timeout),
            follow_redirects=False,
            trust_env=False,  # no proxies from the environment: the guard must see the receiver itself
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """POST `body` to `url`. Raises `FetchError` when no answer came within the deadline."""
        started = time.perf_counter()
        request = self._client.build_request("POST", _checked_url(url), content=body, headers=dict(headers))
        try:
            async with asyncio.timeout(self._policy.total_timeout):
                with _fetch_errors(request.url, self._policy):
                    response = await self._client.send(request, stream=True)
                    try:
                        latency = time.perf_counter() - started
                        await self._drain(response)
                    finally:
                        await response.aclose()
        except TimeoutError as exc:
            raise FetchTimeoutError(
                f"{url} did not answer within {self._policy.total_timeout:g} s; "
                "raise TIMELINE_WEBHOOK_TIMEOUT if the receiver is just slow",
                url=url,
            ) from exc
        retry_after = _retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
        return Answer(response.status_code, latency, retry_after)

    async def _drain(self, response: httpx.Response) -> None:
        """Read up to `max_bytes` of the answer, so its connection can serve the next POST; a longer
        answer is cut off (its connection then closes)."""
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > self._policy.max_bytes:
                return
