"""The only module that talks HTTP to upstreams.

`Fetcher.fetch(url)` makes one polite conditional GET and returns a `FetchResult` (2xx or 304), or raises
a `FetchError`. Its limits hold against hostile upstreams: one deadline for the whole request, a size cap
counted after decompression, a redirect cap, and the SSRF guard of `feeds.ssrf` on every connection.
Host names are fetched in ASCII (`feeds.urls.ascii_url`), a redirect's included; a URL's credentials are
sent (as Basic auth) but never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self
from urllib.parse import urlsplit

import httpx

from feeds._network import (
    FetchPolicy,
    checked_url,
    deadline_error,
    fetch_errors,
    network_backend,
    retry_after_seconds,
)
from feeds._transport import PoolTransport
from feeds.errors import (
    FetchError,
    HTTPStatusError,
    InvalidURLError,
    TooLargeError,
    TooManyRedirectsError,
)
from feeds.urls import ascii_url, redact_credentials

__all__ = ["FetchPolicy", "FetchResult", "Fetcher"]

log = logging.getLogger("feeds.fetch")

# Every format an adapter reads, page first: a URL copied from a browser should get what the browser got.
_ACCEPT = (
    "text/html, application/json, application/feed+json, application/atom+xml, application/rss+xml, "
    "application/xml, text/xml;q=0.9, */*;q=0.8"
)
# Only what `_Decoder` can inflate with bounded output; brotli would need a decoder we do not ship.
_ACCEPT_ENCODING = "gzip, deflate"
_PERMANENT_REDIRECTS = frozenset({301, 308})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """An upstream's answer: a 2xx body, or 304 Not Modified with an empty body.

    On 304 the validators sent are kept unless the upstream sent new ones, so callers can store
    `etag` and `last_modified` as they are.
    """

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    retry_after: float | None  # seconds
    max_age: int | None  # seconds, from Cache-Control
    permanent_redirect: bool  # every hop was 301/308, so `final_url` is the source's new address

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def redirected(self) -> bool:
        return self.final_url != self.url


class Fetcher:
    """Fetches upstream URLs over one connection pool; close it with `aclose()` or `async with`.

    `transport` replaces the network (tests pass `httpx.MockTransport`), and with it the SSRF guard.
    """

    def __init__(self, policy: FetchPolicy, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._policy = policy
        self._client = httpx.AsyncClient(
            transport=transport or PoolTransport(network_backend(policy)),
            headers={"User-Agent": policy.user_agent, "Accept": _ACCEPT, "Accept-Encoding": _ACCEPT_ENCODING},
            timeout=httpx.Timeout(policy.total_timeout, connect=policy.connect_timeout),
            event_hooks={"response": [_check_redirect]},
            # No proxies or credentials from the environment: the guard must see the upstream itself.
            trust_env=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET `url`, conditionally when validators are given, following redirects.

        Raises a `FetchError` for anything but a 2xx or 304 answer. Logs one line either way.
        """
        started = time.perf_counter()
        try:
            result = await self._fetch_within_deadline(url, _validator_headers(etag, last_modified))
        except FetchError as exc:
            _log(url, started, exc)
            raise
        _log(url, started, result)
        return result

    async def _fetch_within_deadline(self, url: str, headers: dict[str, str]) -> FetchResult:
        # httpx's timeouts bound each read, not the sum: a body dripping a byte a second never trips them.
        try:
            async with asyncio.timeout(self._policy.total_timeout):
                request = self._client.build_request("GET", checked_url(url), headers=headers)
                return await self._follow(url, request)
        except TimeoutError as exc:
            raise deadline_error(url, self._policy) from exc

    async def _follow(self, url: str, request: httpx.Request) -> FetchResult:
        # Redirects are followed here, not by httpx, which reads each redirect's whole body into memory.
        hops: list[int] = []
        for _ in range(self._policy.max_redirects + 1):
            with fetch_errors(request.url, self._policy):
                response = await self._client.send(request, stream=True)
                if response.next_request is None:
                    return await self._complete(url, response, hops)
                await response.aclose()
            hops.append(response.status_code)
            request = response.next_request
            checked_url(request.url)
        raise TooManyRedirectsError(
            f"{url} redirected more than {self._policy.max_redirects} times (a loop?); "
            "check the URL, or raise TIMELINE_MAX_REDIRECTS",
            url=url,
        )

    async def _complete(self, url: str, response: httpx.Response, hops: list[int]) -> FetchResult:
        try:
            _raise_for_status(response)
            # Read to its end even for a 304 (HTTP gives it no body): a response closed before its end
            # closes the connection too, and every poll of the host would open (and TLS) a new one.
            body = await self._read_body(response)
        finally:
            await response.aclose()
        return _result(url, response, body, hops)

    async def _read_body(self, response: httpx.Response) -> bytes:
        if response.is_stream_consumed:  # built in memory (httpx.MockTransport), already decoded by httpx
            self._check_size(len(response.content), response)
            return response.content
        decoder = _Decoder(response.headers.get("Content-Encoding", ""), str(response.url))
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += decoder.decode(chunk, max_length=self._policy.max_bytes - len(body) + 1)
            self._check_size(len(body), response)
        return bytes(body)

    def _check_size(self, size: int, response: httpx.Response) -> None:
        if size > self._policy.max_bytes:
            raise TooLargeError(
                f"{response.url} sent more than {self._policy.max_bytes:,} bytes (after decompression); "
                "raise TIMELINE_MAX_BODY_BYTES if the source is legitimate",
                url=str(response.url),
            )


def _validator_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"If-None-Match": etag, "If-Modified-Since": last_modified}
    return {name: value for name, value in headers.items() if value}


async def _check_redirect(response: httpx.Response) -> None:
    """A redirect's target, checked (and its host name written in ASCII) before httpx builds the next
    request from it: httpx would fail on a host name it cannot encode with an error of its own, or crash
    on an A-label it cannot decode."""
    location = response.headers.get("Location")
    if location is None or not response.has_redirect_location:
        return
    try:
        target = ascii_url(location) if urlsplit(location).netloc else location
    except ValueError as exc:
        said = f"{response.request.url} redirected to {location}, whose host name cannot be fetched: {exc}"
        raise InvalidURLError(said, url=location) from exc
    if target != location:
        response.headers["Location"] = target


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300 or status == 304:
        return
    retry_after = retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC))
    said = f"{response.url} answered {status} {response.reason_phrase}".rstrip()
    if retry_after is not None:
        advice = f"retry after {retry_after:g} s"
    elif 400 <= status < 500:
        advice = "check the URL, and remove the source if it is gone"
    else:
        advice = "the upstream is failing; try again later"
    raise HTTPStatusError(f"{said}; {advice}", url=str(response.url), status=status, retry_after=retry_after)


def _result(url: str, response: httpx.Response, body: bytes, hops: list[int]) -> FetchResult:
    headers, sent = response.headers, response.request.headers
    not_modified = response.status_code == 304
    return FetchResult(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        body=body,
        content_type=headers.get("Content-Type"),
        etag=headers.get("ETag") or (sent.get("If-None-Match") if not_modified else None),
        last_modified=headers.get("Last-Modified")
        or (sent.get("If-Modified-Since") if not_modified else None),
        retry_after=retry_after_seconds(headers.get("Retry-After"), datetime.now(UTC)),
        max_age=_max_age(headers.get("Cache-Control")),
        # One temporary hop means the source must keep its URL, so "any hop was permanent" is not enough.
        permanent_redirect=bool(hops) and all(status in _PERMANENT_REDIRECTS for status in hops),
    )


def _max_age(cache_control: str | None) -> int | None:
    for directive in (cache_control or "").split(","):
        name, _, value = directive.strip().partition("=")
        value = value.strip('"')
        if name.lower() == "max-age" and value.isascii() and value.isdigit():
            return int(value)
    return None


class _Decoder:
    """Undoes gzip or deflate without producing more than `max_length` bytes per call.

    httpx's own decoders inflate each network chunk in full, so one 64 KiB chunk of a gzip bomb becomes
    64 MiB before any cap can look at it (and stacked codings multiply that). Here a bomb costs the cap.
    """

    def __init__(self, content_encoding: str, url: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c not in ("", "identity")]
        if codings not in ([], ["gzip"], ["x-gzip"], ["deflate"]):
            raise FetchError(
                f"{url} sent Content-Encoding {content_encoding!r}; only gzip or deflate is supported"
            )
        # 32 + MAX_WBITS: zlib detects gzip or zlib framing itself, forgiving servers that mislabel one.
        self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS) if codings else None
        self._url = url

    def decode(self, data: bytes, *, max_length: int) -> bytes:
        if self._zlib is None:
            return data
        try:
            return self._zlib.decompress(data, max_length)
        except zlib.error as exc:
            raise FetchError(f"{self._url} sent a corrupt compressed body ({exc})", url=self._url) from exc


def _log(url: str, started: float, outcome: FetchResult | FetchError) -> None:
    duration = round(time.perf_counter() - started, 3)
    status: int | str
    if isinstance(outcome, FetchResult):
        level, status, size = logging.INFO, outcome.status, len(outcome.body)
    else:
        level, size = logging.WARNING, 0
        status = outcome.status if isinstance(outcome, HTTPStatusError) else outcome.kind
    url = redact_credentials(url)
    fields = {"url": url, "status": status, "bytes": size, "duration": duration}
    log.log(level, "fetch %s status=%s bytes=%d duration=%.3fs", url, status, size, duration, extra=fields)
