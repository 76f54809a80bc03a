"""`feeds.fetch` against a real HTTP server on loopback addresses, one connection per request."""

from __future__ import annotations

import asyncio
import gzip
import logging
import re
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from ipaddress import ip_network

import httpx
import pytest

from feeds.errors import (
    ConnectError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    InvalidURLError,
    RefusedAddressError,
    TLSError,
    TooLargeError,
    TooManyRedirectsError,
)
from feeds.fetch import Fetcher, FetchPolicy
from tests.upstream import Request, Route, Upstream, closed, closed_port, head, redirect, reset, respond

MIB = 1024 * 1024
LOCAL = FetchPolicy(allow_private=True, connect_timeout=2.0, total_timeout=10.0)
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"


async def _conditional(request: Request, writer: asyncio.StreamWriter) -> None:
    fresh = request.headers.get("if-none-match") == '"v1"'
    await (respond("304 Not Modified") if fresh else OK)(request, writer)


async def _endless(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", {"Content-Type": "text/plain"}))  # no length: the body ends at close
    while True:
        writer.write(b"x" * 65536)
        await writer.drain()


async def _drip(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", {"Content-Length": "1000000"}))
    while True:
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.05)


async def _bomb(request: Request, writer: asyncio.StreamWriter) -> None:
    await respond("200 OK", {"Content-Encoding": "gzip"}, gzip_bomb())(request, writer)


async def _too_many_requests_until(request: Request, writer: asyncio.StreamWriter) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    await respond("429 Too Many Requests", {"Retry-After": later})(request, writer)


@cache
def gzip_bomb(size: int = 128 * MIB) -> bytes:
    """About 128 KB of gzip that inflates to `size` zero bytes, built without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MIB)
    return b"".join(compressor.compress(block) for _ in range(size // MIB)) + compressor.flush()


BODY = b'{"updates": []}'
OK = respond(
    "200 OK",
    {
        "Content-Type": "application/json",
        "ETag": '"v1"',
        "Last-Modified": LAST_MODIFIED,
        "Cache-Control": "public, max-age=60",
    },
    BODY,
)
ROUTES: dict[str, Route] = {
    "/ok": OK,
    "/conditional": _conditional,
    "/gzip": respond("200 OK", {"Content-Encoding": "gzip"}, gzip.compress(BODY)),
    "/deflate": respond("200 OK", {"Content-Encoding": "deflate"}, zlib.compress(BODY)),
    "/brotli": respond("200 OK", {"Content-Encoding": "br"}, b"\x0b\x02\x80hi\x03"),
    "/bomb": _bomb,
    "/endless": _endless,
    "/drip": _drip,
    "/loop": redirect("302 Found", "/loop"),
    "/permanent": redirect("301 Moved Permanently", "/permanent-again"),
    "/permanent-again": redirect("308 Permanent Redirect", "/ok"),
    "/mixed": redirect("301 Moved Permanently", "/temporary"),
    "/temporary": redirect("302 Found", "/ok"),
    "/to-file": redirect("302 Found", "file:///etc/passwd"),
    "/busy": respond("429 Too Many Requests", {"Retry-After": "120"}),
    "/busy-until": _too_many_requests_until,
}


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with Upstream(routes=ROUTES) as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LOCAL) as client:
        yield client


async def test_ok_returns_body_and_caching_headers(upstream: Upstream, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(upstream.url("/ok"))

    assert (result.status, result.body, result.content_type) == (200, BODY, "application/json")
    assert (result.etag, result.last_modified, result.max_age) == ('"v1"', LAST_MODIFIED, 60)
    assert not result.not_modified and not result.redirected and not result.permanent_redirect
    assert result.final_url == result.url == upstream.url("/ok")


async def test_sends_user_agent_with_contact_and_accepts_gzip(upstream: Upstream) -> None:
    async with Fetcher(FetchPolicy(allow_private=True, contact_url="https://example.org/bot")) as fetcher:
        await fetcher.fetch(upstream.url("/ok"))

    headers = upstream.requests[0].headers
    assert headers["user-agent"].startswith("liveblog-timeline/")
    assert headers["user-agent"].endswith("(+https://example.org/bot)")
    assert headers["accept-encoding"] == "gzip, deflate"


async def test_conditional_request_sends_validators_and_304_is_not_modified(
    upstream: Upstream, fetcher: Fetcher
) -> None:
    result = await fetcher.fetch(upstream.url("/conditional"), etag='"v1"', last_modified=LAST_MODIFIED)

    sent = upstream.requests[0].headers
    assert (sent["if-none-match"], sent["if-modified-since"]) == ('"v1"', LAST_MODIFIED)
    assert result.not_modified and result.status == 304 and result.body == b""
    # The 304 carried no validators, so the ones sent are kept for the next poll.
    assert (result.etag, result.last_modified) == ('"v1"', LAST_MODIFIED)


async def test_unconditional_request_sends_no_validators(upstream: Upstream, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(upstream.url("/conditional"))

    assert result.status == 200
    assert "if-none-match" not in upstream.requests[0].headers
    assert "if-modified-since" not in upstream.requests[0].headers


@pytest.mark.parametrize("path", ["/gzip", "/deflate"])
async def test_compressed_body_is_decoded(upstream: Upstream, fetcher: Fetcher, path: str) -> None:
    assert (await fetcher.fetch(upstream.url(path))).body == BODY


async def test_unsupported_content_encoding_is_a_fetch_error(upstream: Upstream, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="Content-Encoding 'br'; only gzip or deflate"):
        await fetcher.fetch(upstream.url("/brotli"))


async def test_gzip_bomb_is_too_large_and_never_inflated(upstream: Upstream) -> None:
    gzip_bomb()  # built before measuring
    tracemalloc.start()
    try:
        async with Fetcher(FetchPolicy(allow_private=True, max_bytes=MIB)) as fetcher:
            with pytest.raises(TooLargeError, match="after decompression"):
                await fetcher.fetch(upstream.url("/bomb"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 128 MiB inflated; a decoder that inflated whole network chunks would peak at tens of MiB.
    assert peak < 8 * MIB


async def test_endless_body_is_too_large(upstream: Upstream) -> None:
    async with Fetcher(FetchPolicy(allow_private=True, max_bytes=MIB)) as fetcher:
        with pytest.raises(TooLargeError) as caught:
            await fetcher.fetch(upstream.url("/endless"))
    assert caught.value.url == upstream.url("/endless")


async def test_slow_drip_hits_the_total_deadline(upstream: Upstream) -> None:
    async with Fetcher(FetchPolicy(allow_private=True, total_timeout=1.0)) as fetcher:
        with pytest.raises(FetchTimeoutError, match="did not finish answering within 1 s"):
            await fetcher.fetch(upstream.url("/drip"))


async def test_redirect_loop_is_too_many_redirects(upstream: Upstream) -> None:
    async with Fetcher(FetchPolicy(allow_private=True, max_redirects=3)) as fetcher:
        with pytest.raises(TooManyRedirectsError, match="more than 3 times"):
            await fetcher.fetch(upstream.url("/loop"))
    assert len(upstream.requests) == 4  # the request and three redirects followed


async def test_permanent_redirects_give_the_new_address(upstream: Upstream, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(upstream.url("/permanent"))

    assert result.permanent_redirect and result.redirected
    assert (result.url, result.final_url) == (upstream.url("/permanent"), upstream.url("/ok"))
    assert result.body == BODY


async def test_a_temporary_hop_makes_the_redirect_temporary(upstream: Upstream, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(upstream.url("/mixed"))

    assert result.final_url == upstream.url("/ok")
    assert result.redirected and not result.permanent_redirect


async def test_redirect_keeps_validators(upstream: Upstream, fetcher: Fetcher) -> None:
    upstream.routes["/old"] = redirect("301 Moved Permanently", "/conditional")

    result = await fetcher.fetch(upstream.url("/old"), etag='"v1"')

    assert result.not_modified and result.permanent_redirect


async def test_retry_after_seconds(upstream: Upstream, fetcher: Fetcher) -> None:
    with pytest.raises(HTTPStatusError, match="429 Too Many Requests; retry after 120 s") as caught:
        await fetcher.fetch(upstream.url("/busy"))
    assert (caught.value.status, caught.value.retry_after) == (429, 120.0)


async def test_retry_after_http_date(upstream: Upstream, fetcher: Fetcher) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(upstream.url("/busy-until"))
    assert caught.value.status == 429
    assert caught.value.retry_after is not None and 3500 < caught.value.retry_after <= 3600


async def test_not_found_is_a_status_error(upstream: Upstream, fetcher: Fetcher) -> None:
    with pytest.raises(HTTPStatusError, match="404 Not Found; check the URL") as caught:
        await fetcher.fetch(upstream.url("/missing"))
    assert (caught.value.status, caught.value.retry_after) == (404, None)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "http://", "http://[::1"])
async def test_only_http_urls_are_fetched(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(InvalidURLError):
        await fetcher.fetch(url)


async def test_redirect_to_another_scheme_is_refused(upstream: Upstream, fetcher: Fetcher) -> None:
    with pytest.raises(InvalidURLError, match=r"file://\S*/etc/passwd is not an http\(s\) URL"):
        await fetcher.fetch(upstream.url("/to-file"))


async def test_closed_port_is_a_connect_error(fetcher: Fetcher) -> None:
    port = closed_port()
    with pytest.raises(ConnectError, match=re.escape("could not connect to 127.0.0.1")):
        await fetcher.fetch(f"http://127.0.0.1:{port}/")


async def test_a_connection_reset_says_what_happened(upstream: Upstream, fetcher: Fetcher) -> None:
    upstream.routes["/reset"] = reset()
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(upstream.url("/reset"))
    assert "()" not in caught.value.message
    assert "closed the connection" in caught.value.message


async def test_tls_failure_is_a_tls_error(fetcher: Fetcher) -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the ClientHello has begun; answer it in plain HTTP
        writer.write(head("400 Bad Request", {"Content-Length": "0"}))
        await reader.read()  # let the client hang up first, so it reads our answer
        writer.close()
        await closed(writer)

    async with await asyncio.start_server(plain_http, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(TLSError, match=re.escape("TLS with 127.0.0.1 failed")):
            await fetcher.fetch(f"https://127.0.0.1:{port}/")


async def test_logs_one_line_per_fetch(
    upstream: Upstream, fetcher: Fetcher, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="feeds.fetch"):
        await fetcher.fetch(upstream.url("/permanent"))
        with pytest.raises(HTTPStatusError):
            await fetcher.fetch(upstream.url("/missing"))

    ok, missing = [record for record in caplog.records if record.name == "feeds.fetch"]
    assert (ok.url, ok.status, ok.bytes) == (upstream.url("/permanent"), 200, len(BODY))  # type: ignore[attr-defined]
    assert (missing.status, missing.levelname) == (404, "WARNING")  # type: ignore[attr-defined]
    assert isinstance(ok.duration, float) and isinstance(missing.duration, float)  # type: ignore[attr-defined]


async def test_transport_seam_bypasses_the_network() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Encoding": "gzip", "Cache-Control": 'max-age="30"'}
        return httpx.Response(200, headers=headers, content=gzip.compress(BODY))

    async with Fetcher(FetchPolicy(), transport=httpx.MockTransport(handler)) as fetcher:
        result = await fetcher.fetch("http://127.0.0.1/feed")  # the guard lives in the network backend
    assert (result.body, result.max_age) == (BODY, 30)


async def test_size_cap_holds_for_in_memory_responses() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=bytes(2 * MIB)))
    async with Fetcher(FetchPolicy(max_bytes=MIB), transport=transport) as fetcher:
        with pytest.raises(TooLargeError):
            await fetcher.fetch("http://example.org/feed")


# The SSRF guard, end to end: `allow_private=False`.


async def test_loopback_url_is_refused_before_any_request(upstream: Upstream) -> None:
    async with Fetcher(FetchPolicy()) as fetcher:
        with pytest.raises(
            RefusedAddressError, match=re.escape("127.0.0.1 is a loopback address; set TIMELINE_ALLOW")
        ):
            await fetcher.fetch(upstream.url("/ok"))
    assert upstream.requests == []


async def test_private_address_on_a_closed_port_reads_as_refused() -> None:
    port = closed_port()
    async with Fetcher(FetchPolicy()) as fetcher:
        with pytest.raises(RefusedAddressError, match=re.escape("127.0.0.1 is a loopback address")):
            await fetcher.fetch(f"http://127.0.0.1:{port}/")


async def test_localhost_name_is_refused(upstream: Upstream) -> None:
    async with Fetcher(FetchPolicy()) as fetcher:
        with pytest.raises(
            RefusedAddressError, match=re.escape("localhost resolves to 127.0.0.1, a loopback address")
        ):
            await fetcher.fetch(f"http://localhost:{upstream.port}/ok")
    assert upstream.requests == []


async def test_redirect_from_an_allowed_host_to_loopback_is_refused(upstream: Upstream) -> None:
    # Linux routes all of 127.0.0.0/8 to loopback: 127.0.0.2 plays a public host, 127.0.0.1 an internal one.
    policy = FetchPolicy(allowed_networks=(ip_network("127.0.0.2/32"),))
    async with Upstream("127.0.0.2", ROUTES) as public, Fetcher(policy) as fetcher:
        public.routes["/hop"] = redirect("302 Found", upstream.url("/ok"))
        assert (await fetcher.fetch(public.url("/ok"))).body == BODY

        with pytest.raises(RefusedAddressError, match=re.escape("127.0.0.1 is a loopback address")) as caught:
            await fetcher.fetch(public.url("/hop"))
    assert caught.value.url == upstream.url("/ok")
    assert upstream.requests == []
