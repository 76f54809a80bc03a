"""Host names DNS cannot carry, against a real `timeline api` process: refused on attach with a problem that
says why (422, `fetch.invalid_url`), and a poll whose upstream redirects to one fails as that error, not as
an internal one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.timeline.api.processes import Served, api_process
from tests.timeline.api.support import AUTH, PROBLEM, LiveBlog
from tests.upstream import Request, Route, Upstream, head, script

INVALID = "https://liveblog-timeline.dev/problems/fetch.invalid_url"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with api_process(tmp_path_factory.mktemp("hosts")) as running:
        yield running


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        yield http


@pytest.fixture
async def timeline(client: httpx.AsyncClient) -> str:
    """A new timeline's id: each test has its own, on the one server."""
    created = await client.post("/api/v1/timelines", json={"title": "Hosts"}, headers=AUTH)
    assert created.status_code == 201
    return str(created.json()["id"])


def _redirect_to(location: str) -> Route:
    """A redirect written as servers write internationalized names: UTF-8 in `Location`."""

    async def route(request: Request, writer: asyncio.StreamWriter) -> None:
        start = head("302 Found", {"Content-Length": "0"})[:-2]
        writer.write(start + f"Location: {location}\r\n\r\n".encode())
        await writer.drain()

    return route


@pytest.mark.parametrize(
    ("url", "said"),
    [("https://☃.example/feed", "U+2603"), (f"https://{'a' * 300}.example/feed", "300 characters")],
)
async def test_a_host_name_dns_cannot_carry_is_refused_on_attach(
    client: httpx.AsyncClient, timeline: str, url: str, said: str
) -> None:
    attached = await client.post(f"/api/v1/timelines/{timeline}/sources", json={"url": url}, headers=AUTH)
    assert attached.status_code == 422 and attached.headers["content-type"] == PROBLEM, attached.text
    problem = attached.json()
    assert problem["type"] == INVALID and problem["parameter"] == "url"
    assert said in problem["detail"] and "host name" in problem["detail"]
    assert (await client.get(f"/api/v1/timelines/{timeline}")).json()["sources"] == []  # nothing kept


@pytest.mark.parametrize(
    "location", ["https://☃.example/moved", "http://xn--n3h.example/", f"//{'b' * 64}.x/"]
)
async def test_a_redirect_to_such_a_host_fails_the_poll_as_an_invalid_url(
    served: Served, client: httpx.AsyncClient, timeline: str, upstream: Upstream, location: str
) -> None:
    blog = LiveBlog()
    blog.post("b1", "Polls open", minute=0)
    upstream.routes["/blog"] = script(blog.route(), _redirect_to(location))
    sources = f"/api/v1/timelines/{timeline}/sources"
    attached = await client.post(sources, json={"url": upstream.url("/blog")}, headers=AUTH)
    assert attached.status_code == 201, attached.text

    polled = await client.post(f"{sources}/{attached.json()['id']}/poll", headers=AUTH)
    assert polled.status_code == 422 and polled.json()["type"] == INVALID, polled.text
    assert "redirected to" in polled.json()["detail"]
    (source,) = (await client.get(f"/api/v1/timelines/{timeline}")).json()["sources"]
    assert source["health"]["last_error"]["kind"] == "fetch.invalid_url"
    await asyncio.sleep(0.3)  # the log's writer thread
    log = served.log_path.read_text()
    assert "error=fetch.invalid_url" in log and "Traceback" not in log and "internal" not in log
