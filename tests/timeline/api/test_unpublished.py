"""Deleted means unpublished, and ingest that cannot lose data, through the API: a deleted update's words
reach no public read (pages, the event, its revisions, changes, SSE frames, feeds, the embed page), only
its tombstone does; a keyed read still sees it whole, with its history. A source detached and attached
again brings back the same events. A blog whose complete list comes back empty deletes nothing at once,
and its health says so. The OpenAPI document describes the tombstone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.timeline.api.conftest import Client
from tests.timeline.api.support import AUTH, LiveBlog, assert_problem
from tests.timeline.live.processes import live_env, server
from tests.timeline.live.sse import listen
from tests.timeline.live.writer import writing

SECRET = "Correction 7731: the Ward 9 count was wrong"
TOMBSTONE_FIELDS = {"id", "seq", "deleted", "published_at", "position"}


def _api(timeline: dict[str, Any], path: str = "") -> str:
    return f"/api/v1/timelines/{timeline['id']}{path}"


async def _poll(client: Client, timeline: dict[str, Any], source: dict[str, Any]) -> dict[str, int]:
    response = await client.post(_api(timeline, f"/sources/{source['id']}/poll"), headers=AUTH)
    assert response.status_code == 200, response.text
    counts: dict[str, int] = response.json()
    return counts


def _public_reads(timeline: dict[str, Any], event_id: str) -> list[str]:
    paths = ["/events", "/events?order=asc&limit=200", "/events?key_events=true", f"/events/{event_id}"]
    paths += ["/changes", "/changes?since=0&limit=1000", "/feed.atom", "/feed.json", "/timelinejs.json"]
    return [_api(timeline, path) for path in paths] + [f"/embed/{timeline['slug']}"]


async def _post_then_delete(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> str:
    """Post an update with SECRET, read everything once (so caches hold it), delete it; its event id."""
    blog.post("b4", SECRET, minute=30, key_event=True)
    assert (await _poll(client, timeline, source))["new"] == 1
    for path in _public_reads(timeline, "ev_none"):
        await client.get(path)
    page = (await client.get(_api(timeline, "/events"))).json()
    event_id: str = next(e["id"] for e in page["events"] if e["upstream_id"] == "b4")
    blog.delete("b4")  # one of four: not a mass deletion, so it applies at once
    assert await _poll(client, timeline, source) == {"new": 0, "updated": 0, "deleted": 1}
    return event_id


async def test_no_public_read_shows_a_deleted_events_content(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    event_id = await _post_then_delete(client, timeline, source, blog)

    for path in _public_reads(timeline, event_id):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert SECRET not in response.text and "block-b4" not in response.text, path

    tombstone = (await client.get(_api(timeline, f"/events/{event_id}"))).json()
    assert set(tombstone) == TOMBSTONE_FIELDS
    assert (tombstone["id"], tombstone["deleted"], tombstone["published_at"]) == (
        event_id,
        True,
        "2024-05-01T12:30:00Z",
    )
    changes = (await client.get(_api(timeline, "/changes"))).json()["changes"]
    assert {"seq": tombstone["seq"], "kind": "delete", "event": tombstone} in changes
    listed = (await client.get(_api(timeline, "/events"))).json()["events"]
    assert event_id not in {e["id"] for e in listed}


async def test_a_deleted_events_history_is_not_public(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    event_id = await _post_then_delete(client, timeline, source, blog)
    response = await client.get(_api(timeline, f"/events/{event_id}/revisions"))
    problem = assert_problem(response, 404, "not_found.event")
    assert "deleted" in problem["detail"] and SECRET not in response.text


async def test_a_keyed_read_sees_the_whole_event_and_its_history(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    event_id = await _post_then_delete(client, timeline, source, blog)
    await client.get(_api(timeline, f"/events/{event_id}"))  # the public answer is cached now

    event = await client.get(_api(timeline, f"/events/{event_id}"), headers=AUTH)
    assert event.status_code == 200, event.text
    assert (event.json()["deleted"], event.json()["body_text"], event.json()["upstream_id"]) == (
        True,
        SECRET,
        "b4",
    )
    assert event.headers["cache-control"] == "private, no-store"
    history = await client.get(_api(timeline, f"/events/{event_id}/revisions"), headers=AUTH)
    assert [(r["revision"], r["body_text"]) for r in history.json()] == [(1, SECRET)]
    assert history.headers["cache-control"] == "private, no-store"

    wrong = await client.get(_api(timeline, f"/events/{event_id}"), headers={"Authorization": "Bearer no"})
    assert_problem(wrong, 403, "forbidden")
    proxied = await client.get(_api(timeline, f"/events/{event_id}"), headers={"Authorization": "Basic eDp5"})
    assert set(proxied.json()) == TOMBSTONE_FIELDS  # not our scheme: a public read
    public = await client.get(_api(timeline, f"/events/{event_id}"))
    assert set(public.json()) == TOMBSTONE_FIELDS and "authorization" in public.headers["vary"].lower()


async def test_a_source_attached_again_brings_back_the_same_events(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    before = (await client.get(_api(timeline, "/events"), params={"order": "asc"})).json()["events"]
    detached = await client.delete(_api(timeline, f"/sources/{source['id']}"), headers=AUTH)
    assert detached.status_code == 204
    assert (await client.get(_api(timeline, "/events"))).json()["events"] == []
    after_detach = (await client.get(_api(timeline, "/changes"))).json()["last_seq"]

    again = await client.post(_api(timeline, "/sources"), json={"url": source["url"]}, headers=AUTH)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == source["id"]
    assert again.json()["first_poll"] == {"new": 0, "updated": 3, "deleted": 0}

    revived = (await client.get(_api(timeline, "/events"), params={"order": "asc"})).json()["events"]
    assert [e["id"] for e in revived] == [e["id"] for e in before]
    assert [e["body_text"] for e in revived] == [e["body_text"] for e in before]
    changes = (await client.get(_api(timeline, "/changes"), params={"since": after_detach})).json()
    assert [(c["kind"], c["event"]["id"]) for c in changes["changes"]] == [
        ("upsert", e["id"]) for e in before
    ]
    assert all(c["seq"] > after_detach for c in changes["changes"])


async def test_a_blog_going_empty_deletes_nothing_yet_and_says_so(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    for block_id in list(blog.blocks):
        blog.delete(block_id)
    assert await _poll(client, timeline, source) == {"new": 0, "updated": 0, "deleted": 0}

    assert len((await client.get(_api(timeline, "/events"))).json()["events"]) == 3
    (health,) = [s["health"] for s in (await client.get(_api(timeline))).json()["sources"]]
    held = health["held_deletions"]
    assert (held["listed"], held["live"], held["seen"]) == (0, 3, 1)
    assert held["message"] == "deletions held: upstream lists 0 of 3 updates"
    listed = (await client.get("/api/v1/sources")).json()
    assert [s["health"]["held_deletions"] for s in listed] == [held]


async def test_the_openapi_document_describes_the_tombstone(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert set(schemas["Tombstone"]["properties"]) == TOMBSTONE_FIELDS
    read = document["paths"]["/api/v1/timelines/{timeline}/events/{event_id}"]["get"]
    one = str(read["responses"]["200"]["content"]["application/json"]["schema"])
    assert "#/components/schemas/Tombstone" in one and "#/components/schemas/Event" in one
    assert "Tombstone" in str(schemas["Change"]["properties"]["event"])
    assert {} in read["security"] and {"bearer": []} in read["security"]
    assert "HeldDeletions" in str(schemas["SourceHealth"]["properties"]["held_deletions"])


async def test_sse_frames_of_a_deletion_carry_only_the_tombstone(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}"
    async with writing(url) as writer, server("api", live_env(url), tmp_path / "api.log") as api:
        posted = await writer.post("a", SECRET)
        gone = await writer.delete("a")
        async with listen(api.url, writer.timeline_id, since=0) as stream:
            (message,) = await stream.until_count(1)  # each event once, in its latest state
            async with listen(api.url, writer.timeline_id, since=posted.seq) as live:
                (replayed,) = await live.until_count(1)
    for frame in (message, replayed):
        assert (frame.event, frame.seq) == ("delete", gone.seq) and SECRET not in frame.data
        assert frame.json() == {
            "id": gone.event_id,
            "seq": gone.seq,
            "deleted": True,
            "published_at": "2024-05-01T12:00:00Z",
            "position": 0,
        }
