"""A source URL's credentials (`https://user:pw@host/feed`) are stored and used to fetch, and shown nowhere:
not in any API response (sources, timelines, problems), not in `/metrics`, not in a log line. Checked
against a real `timeline api` process whose upstream only answers with those credentials."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.timeline.api.processes import Served, api_process
from tests.timeline.api.support import AUTH, PROBLEM, LiveBlog
from tests.upstream import Request, Route, Upstream, respond

USER, SECRET = "reader", "pa55-w0rd-only-we-know"


def _behind_basic_auth(route: Route, failing: list[bool]) -> Route:
    """`route` for requests with our credentials (a 500 while `failing[0]`); 401 for any other."""
    expected = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()

    async def guarded(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.headers.get("authorization") != expected:
            await respond("401 Unauthorized")(request, writer)
        elif failing[0]:
            await respond("500 Internal Server Error")(request, writer)
        else:
            await route(request, writer)

    return guarded


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with api_process(tmp_path) as running:
        yield running


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        yield http


def _texts(*responses: httpx.Response) -> str:
    return "\n".join(response.text for response in responses)


async def test_credentials_are_used_to_fetch_and_shown_nowhere(
    served: Served, client: httpx.AsyncClient, upstream: Upstream
) -> None:
    failing = [False]
    blog = LiveBlog()
    blog.post("b1", "Polls open", minute=0)
    upstream.routes["/blog"] = _behind_basic_auth(blog.route(), failing)
    upstream.routes["/robots.txt"] = _behind_basic_auth(respond("404 Not Found"), failing)
    source_url = f"http://{USER}:{SECRET}@{upstream.netloc}/blog"
    shown_url = f"http://{USER}:***@{upstream.netloc}/blog"

    created = await client.post("/api/v1/timelines", json={"title": "Election night"}, headers=AUTH)
    attached = await client.post(
        f"/api/v1/timelines/{created.json()['id']}/sources", json={"url": source_url}, headers=AUTH
    )
    assert attached.status_code == 201, attached.text
    assert attached.json()["first_poll"]["new"] == 1  # fetched: the upstream took our credentials
    assert attached.json()["url"] == shown_url

    failing[0] = True
    timeline_id, source_id = created.json()["id"], attached.json()["id"]
    polled = await client.post(f"/api/v1/timelines/{timeline_id}/sources/{source_id}/poll", headers=AUTH)
    again = await client.post(
        f"/api/v1/timelines/{timeline_id}/sources", json={"url": source_url}, headers=AUTH
    )
    assert (polled.status_code, again.status_code) == (422, 409)
    assert polled.headers["content-type"] == again.headers["content-type"] == PROBLEM
    assert shown_url in polled.json()["detail"] and shown_url in again.json()["detail"]

    reads = [
        await client.get(path)
        for path in (
            "/api/v1/sources",
            "/api/v1/sources?status=failing",
            "/api/v1/timelines",
            f"/api/v1/timelines/{timeline_id}",
            "/metrics",
        )
    ]
    sources: list[dict[str, Any]] = reads[0].json()
    assert [source["url"] for source in sources] == [shown_url]
    assert shown_url in sources[0]["health"]["last_error"]["message"]
    assert SECRET not in _texts(attached, polled, again, *reads)

    served_log = await _log_so_far(served)
    assert SECRET not in served_log
    assert f"url={shown_url}" in served_log  # the poll lines
    assert f"fetch {shown_url}" in served_log  # the fetch lines


async def _log_so_far(served: Served) -> str:
    """What the process has logged: its lines go out through a writer thread, soon after the request."""
    await asyncio.sleep(0.3)
    return served.log_path.read_text()
