"""The re-syndication documents a real `timeline api` process serves, as their readers use them: feeds link
the timeline's human page (the embed page, which answers), an upstream's enclosure length reaches the Atom
feed, and an empty timeline's TimelineJS document is one TimelineJS takes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from xml.etree import ElementTree

import httpx
import pytest

from tests.timeline.api.processes import Served, api_process
from tests.timeline.api.support import AUTH
from tests.timeline.render.timelinejs_format import problems
from tests.upstream import Upstream, respond

ATOM = "{http://www.w3.org/2005/Atom}"
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Radio live</title>
<link>https://radio.example/live</link>
<item><guid>ep-1</guid><title>Kick-off</title><pubDate>Wed, 01 May 2024 12:00:00 GMT</pubDate>
<description>The match starts.</description>
<enclosure url="https://radio.example/ep-1.mp3" length="31415926" type="audio/mpeg"/></item>
</channel></rss>"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with api_process(tmp_path_factory.mktemp("feeds")) as running:
        yield running


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        yield http


async def _timeline(client: httpx.AsyncClient, title: str) -> str:
    created = await client.post("/api/v1/timelines", json={"title": title}, headers=AUTH)
    assert created.status_code == 201
    return str(created.json()["slug"])


async def test_feeds_link_the_timelines_page_and_carry_enclosure_lengths(
    served: Served, client: httpx.AsyncClient, upstream: Upstream
) -> None:
    upstream.routes["/radio.rss"] = respond("200 OK", {"Content-Type": "application/rss+xml"}, RSS)
    slug = await _timeline(client, "Radio live")
    attached = await client.post(
        f"/api/v1/timelines/{slug}/sources", json={"url": upstream.url("/radio.rss")}, headers=AUTH
    )
    assert attached.status_code == 201, attached.text
    page = f"{served.url}/embed/{slug}"

    atom = ElementTree.fromstring((await client.get(f"/api/v1/timelines/{slug}/feed.atom")).content)
    alternate = [link.attrib for link in atom.findall(f"{ATOM}link") if link.get("rel") == "alternate"]
    assert alternate == [{"rel": "alternate", "href": page, "type": "text/html"}]
    [enclosure] = [link.attrib for link in atom.iter(f"{ATOM}link") if link.get("rel") == "enclosure"]
    assert enclosure["length"] == "31415926" and enclosure["href"] == "https://radio.example/ep-1.mp3"

    feed = (await client.get(f"/api/v1/timelines/{slug}/feed.json")).json()
    assert feed["home_page_url"] == page
    human = await client.get(page)
    assert human.status_code == 200 and human.headers["content-type"].startswith("text/html")


async def test_an_empty_timeline_is_a_timelinejs_document_timelinejs_takes(client: httpx.AsyncClient) -> None:
    slug = await _timeline(client, "Nothing yet")
    document = (await client.get(f"/api/v1/timelines/{slug}/timelinejs.json")).json()
    assert problems(document) == [] and len(document["events"]) == 1
