"""`feeds.fetch` and the URLs it is given: internationalized host names fetched in ASCII, host names DNS
cannot carry refused as `fetch.invalid_url` (redirects included), credentials sent but never logged."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from feeds.errors import FetchError, HTTPStatusError, InvalidURLError
from feeds.fetch import Fetcher, FetchPolicy
from tests.upstream import Request, Route, Upstream, head, respond

LOCAL = FetchPolicy(allow_private=True, connect_timeout=2.0, total_timeout=10.0)
LONG_LABEL = "a" * 300
SECRET = "s3cr3t-pw"


def _needs_basic_auth(user: str, password: str) -> Route:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    ok, refused = respond("200 OK", body=b"{}"), respond("401 Unauthorized")

    async def route(request: Request, writer: asyncio.StreamWriter) -> None:
        await (ok if request.headers.get("authorization") == expected else refused)(request, writer)

    return route


def _redirect_in_utf8(location: str) -> Route:
    """A redirect whose `Location` is UTF-8, as servers send internationalized names they do not encode."""

    async def route(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(
            head("302 Found", {"Content-Length": "0"})[:-2] + f"Location: {location}\r\n\r\n".encode()
        )
        await writer.drain()

    return route


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with Upstream() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LOCAL) as client:
        yield client


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("https://☃.example/feed", "U+2603"),
        ("http://xn--n3h.example/feed", "U+2603"),  # as an A-label: httpx would crash decoding it
        (f"http://{LONG_LABEL}.example/feed", "300 characters"),
        ("//a..example/feed", "empty label"),
    ],
)
async def test_a_redirect_to_a_host_dns_cannot_carry_is_an_invalid_url(
    upstream: Upstream, fetcher: Fetcher, location: str, said: str
) -> None:
    upstream.routes["/moved"] = _redirect_in_utf8(location)
    with pytest.raises(InvalidURLError, match="redirected to") as refused:
        await fetcher.fetch(upstream.url("/moved"))
    assert refused.value.kind == "fetch.invalid_url" and said in refused.value.message
    assert [exchange.request.path for exchange in upstream.served()] == ["/moved"]


@pytest.mark.parametrize(
    "url", ["https://☃.example/feed", f"https://{LONG_LABEL}.example/feed", "http://a..example/"]
)
async def test_a_source_on_a_host_dns_cannot_carry_is_an_invalid_url(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(InvalidURLError) as refused:
        await fetcher.fetch(url)
    assert "host name" in refused.value.message


async def test_internationalized_names_are_fetched_in_punycode_redirects_included() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.path == "/old":
            return httpx.Response(301, headers={b"Location": "https://ＢÜCHER.example/new".encode()})
        return httpx.Response(200, content=b"{}")

    async with Fetcher(LOCAL, transport=httpx.MockTransport(handler)) as fetcher:
        result = await fetcher.fetch("https://例え.テスト/old")
    assert asked == ["https://xn--r8jz45g.xn--zckzah/old", "https://xn--bcher-kva.example/new"]
    assert result.final_url == "https://xn--bcher-kva.example/new" and result.permanent_redirect


async def test_credentials_are_sent_but_never_logged_nor_told(
    upstream: Upstream, fetcher: Fetcher, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.routes["/private"] = _needs_basic_auth("reader", SECRET)
    url = f"http://reader:{SECRET}@{upstream.netloc}/private"
    with caplog.at_level(logging.INFO, logger="feeds.fetch"):
        result = await fetcher.fetch(url)
        with pytest.raises(HTTPStatusError) as refused:
            await fetcher.fetch(url.replace(SECRET, "wrong-pw"))
    assert result.status == 200 and result.url == url  # kept whole for the caller, who stores it
    lines = [record for record in caplog.records if record.name == "feeds.fetch"]
    assert [record.url for record in lines] == [  # type: ignore[attr-defined]
        f"http://reader:***@{upstream.netloc}/private"
    ] * 2
    assert not any(SECRET in r.getMessage() or "wrong-pw" in r.getMessage() for r in lines)
    assert "wrong-pw" not in refused.value.message and "reader:***@" in refused.value.message


def test_every_feeds_error_message_is_redacted() -> None:
    error = FetchError(f"https://u:{SECRET}@x.example/ failed", url=f"https://u:{SECRET}@x.example/")
    assert str(error) == error.message == "https://u:***@x.example/ failed"
    assert error.url == f"https://u:{SECRET}@x.example/"  # the URL itself is the caller's to keep
