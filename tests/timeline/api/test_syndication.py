"""Re-syndication through the API (Atom, JSON Feed, TimelineJS) on the cached read path; sources by health."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest

from tests.timeline.api.conftest import Client
from tests.timeline.api.support import AUTH, LiveBlog, assert_problem

ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ["feed.atom", "feed.json", "timelinejs.json"]

pytestmark = pytest.mark.usefixtures("source")


def atom_entries(body: bytes) -> list[str]:
    """The text of each entry's content, newest first as the feed lists them."""
    root = ElementTree.fromstring(body)
    return [str(entry.findtext(f"{ATOM}content") or "") for entry in root.iter(f"{ATOM}entry")]


async def test_atom(client: Client, timeline: dict[str, Any]) -> None:
    response = await client.get(f"/api/v1/timelines/{timeline['slug']}/feed.atom")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(response.content)
    assert root.findtext(f"{ATOM}title") == "Election night"
    entries = atom_entries(response.content)
    assert len(entries) == 3
    assert "Read our guide" in entries[0] and "Polls open" in entries[-1]


async def test_json_feed(client: Client, timeline: dict[str, Any]) -> None:
    response = await client.get(f"/api/v1/timelines/{timeline['id']}/feed.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/feed+json")
    feed = response.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Election night"
    assert len(feed["items"]) == 3
    assert all(item["id"] and item["date_published"].endswith("Z") for item in feed["items"])


async def test_timelinejs(client: Client, timeline: dict[str, Any]) -> None:
    response = await client.get(f"/api/v1/timelines/{timeline['id']}/timelinejs.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.json()["events"]) == 3


@pytest.mark.parametrize("feed", FEEDS)
async def test_feeds_follow_edits_and_deletions(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog, feed: str
) -> None:
    url = f"/api/v1/timelines/{timeline['id']}/{feed}"
    before = await client.get(url)
    blog.edit("b1", "Polls are now open")
    blog.delete("b2")
    polled = await client.post(
        f"/api/v1/timelines/{timeline['id']}/sources/{source['id']}/poll", headers=AUTH
    )
    assert polled.json() == {"new": 0, "updated": 1, "deleted": 1}

    after = await client.get(url, headers={"If-None-Match": before.headers["etag"]})

    assert after.status_code == 200
    assert b"Polls are now open" in after.content
    assert b"First exit poll" in before.content and b"First exit poll" not in after.content


@pytest.mark.parametrize("feed", FEEDS)
async def test_feeds_answer_304_and_carry_cache_headers(
    client: Client, timeline: dict[str, Any], feed: str
) -> None:
    url = f"/api/v1/timelines/{timeline['id']}/{feed}"
    first = await client.get(url, headers={"Origin": "https://reader.example"})

    again = await client.get(url, headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["access-control-allow-origin"] == "*"
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert (again.status_code, again.content) == (304, b"")


@pytest.mark.parametrize("feed", FEEDS)
async def test_feeds_of_unknown_timelines_are_404(client: Client, feed: str) -> None:
    assert_problem(await client.get(f"/api/v1/timelines/nope/{feed}"), 404, "not_found.timeline")


async def test_sources_are_listed_with_their_health(client: Client, source: dict[str, Any]) -> None:
    everything = await client.get("/api/v1/sources")
    failing = await client.get("/api/v1/sources", params={"status": "failing"})

    assert everything.status_code == 200
    listed = {s["id"]: s for s in everything.json()}
    assert set(listed) == {source["id"]}
    assert listed[source["id"]]["health"]["status"] in ("new", "ok")
    assert failing.json() == []
    assert_problem(
        await client.get("/api/v1/sources", params={"status": "sideways"}), 400, "invalid_request", "status"
    )
