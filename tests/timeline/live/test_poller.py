"""`timeline serve` as one process: its poller follows a live blog we edit, and a connected SSE client
sees each new post, edit and deletion as it happens, as the event the REST API shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.timeline.api.support import AUTH, LiveBlog
from tests.timeline.live.processes import live_env, server
from tests.timeline.live.sse import Message, Stream, listen
from tests.upstream import Upstream


async def test_posts_edits_and_deletions_polled_from_a_blog_reach_a_connected_client(
    tmp_path: Path, sqlite_url: str
) -> None:
    blog = LiveBlog()
    blog.post("b1", "Polls open", minute=0)
    blog.post("b2", "First exit poll", minute=10)
    async with (
        Upstream(routes={"/blog": blog.route()}) as upstream,
        server("serve", live_env(sqlite_url), tmp_path / "serve.log") as serve,
        httpx.AsyncClient(base_url=serve.url, headers=AUTH) as http,
    ):
        slug = (await http.post("/api/v1/timelines", json={"title": "Election night"})).json()["slug"]
        added = await http.post(f"/api/v1/timelines/{slug}/sources", json={"url": upstream.url("/blog")})
        assert added.json()["first_poll"] == {"new": 2, "updated": 0, "deleted": 0}
        first = (await http.get(f"/api/v1/timelines/{slug}/events", params={"order": "asc"})).json()
        ids = {event["upstream_id"]: event["id"] for event in first["events"]}

        async with listen(serve.url, slug) as client:
            blog.post("b3", "Turnout is high", minute=20)
            posted = await _next(client, http, slug)
            assert (posted.event, posted.json()["body_text"]) == ("upsert", "Turnout is high")
            assert posted.seq > first["last_seq"]

            blog.edit("b1", "Polls opened at 7am")
            edited = await _next(client, http, slug)
            assert (edited.event, edited.json()["id"]) == ("upsert", ids["b1"])
            assert edited.json()["body_text"] == "Polls opened at 7am"

            blog.delete("b2")
            deleted = await _next(client, http, slug)
            assert (deleted.event, deleted.json()["id"]) == ("delete", ids["b2"])
            assert deleted.json()["deleted"] is True
            assert posted.seq < edited.seq < deleted.seq


async def _next(client: Stream, http: httpx.AsyncClient, slug: str) -> Message:
    """The one message the next poll brings, checked against the event as `/events/{id}` shows it."""
    count = len(client.messages) + 1
    message = (await client.until_count(count))[-1]
    event: dict[str, Any] = message.json()
    assert event["seq"] == message.seq
    async with httpx.AsyncClient(base_url=http.base_url) as public:  # without the key: as readers see it
        shown = await public.get(f"/api/v1/timelines/{slug}/events/{event['id']}")
    assert shown.json() == event
    return message
