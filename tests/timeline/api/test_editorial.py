"""Editors through the API, with named keys: overrides on ingested events that re-polls never undo, posts of
the timeline's own with revisions, deletions, the audit log, every refusal as a problem, and readers who
see each change at once (ETags, cached pages, changes, feeds, the embed page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.timeline.api.conftest import Client
from tests.timeline.api.support import AUTH, KEY, LiveBlog, assert_problem
from timeline.settings import Settings

DESK = {"Authorization": "Bearer desk-key"}
TOMBSTONE_FIELDS = {"id", "seq", "deleted", "published_at", "position"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Two named keys: `alice` (the tests' usual key) and `desk`."""
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}",
        api_keys=f"alice:{KEY},desk:desk-key",
        allow_private_sources=True,
    )


def _api(timeline: dict[str, Any], path: str = "") -> str:
    return f"/api/v1/timelines/{timeline['slug']}{path}"


async def _event(client: Client, timeline: dict[str, Any], upstream_id: str) -> dict[str, Any]:
    page = (await client.get(_api(timeline, "/events"), params={"limit": 200})).json()
    found: dict[str, Any] = next(e for e in page["events"] if e["upstream_id"] == upstream_id)
    return found


async def _poll(client: Client, timeline: dict[str, Any], source: dict[str, Any]) -> dict[str, int]:
    response = await client.post(_api(timeline, f"/sources/{source['id']}/poll"), headers=AUTH)
    assert response.status_code == 200, response.text
    counts: dict[str, int] = response.json()
    return counts


async def _patch(
    client: Client,
    timeline: dict[str, Any],
    event_id: str,
    body: dict[str, Any],
    headers: dict[str, str] = AUTH,
) -> dict[str, Any]:
    response = await client.patch(_api(timeline, f"/events/{event_id}"), json=body, headers=headers)
    assert response.status_code == 200, response.text
    edited: dict[str, Any] = response.json()
    return edited


async def test_hide_reads_as_a_tombstone_keyed_reads_see_it_and_a_repoll_keeps_it_hidden(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    event = await _event(client, timeline, "b2")
    one = _api(timeline, f"/events/{event['id']}")
    await client.get(one)  # the public answer is cached now
    hidden = await _patch(client, timeline, event["id"], {"hidden": True})
    assert (hidden["hidden"], hidden["overrides"]["hidden"], hidden["editorial"]) == (True, True, False)

    public = await client.get(one)
    assert set(public.json()) == TOMBSTONE_FIELDS and public.json()["seq"] == hidden["seq"]
    keyed = (await client.get(one, headers=AUTH)).json()
    assert (keyed["hidden"], keyed["body_text"], keyed["overrides"]["hidden"]) == (
        True,
        "First exit poll",
        True,
    )
    assert "First exit poll" not in (await client.get(_api(timeline, "/events"))).text

    blog.edit("b2", "First exit poll, corrected")
    assert (await _poll(client, timeline, source))["updated"] == 1
    assert set((await client.get(one)).json()) == TOMBSTONE_FIELDS
    assert (await client.get(one, headers=AUTH)).json()["body_text"] == "First exit poll, corrected"
    assert "corrected" not in (await client.get(_api(timeline, "/changes"))).text

    last_seq = (await client.get(_api(timeline, "/changes"))).json()["last_seq"]
    shown = await _patch(client, timeline, event["id"], {"hidden": None})
    changes = (await client.get(_api(timeline, "/changes"), params={"since": last_seq})).json()["changes"]
    assert [(c["kind"], c["event"]["body_text"]) for c in changes] == [
        ("upsert", "First exit poll, corrected")
    ]
    assert (await client.get(one)).json() == {key: shown[key] for key in (await client.get(one)).json()}


async def test_pins_key_events_and_titles_outlast_repolls_and_the_sources_flags(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    b1, b3 = await _event(client, timeline, "b1"), await _event(client, timeline, "b3")
    await _patch(client, timeline, b1["id"], {"pinned": True, "key_event": True, "title": "Polls open now"})
    await _patch(client, timeline, b3["id"], {"pinned": False, "note": "Guide updated at 9pm"})

    blog.post("b3", "Read our guide, updated", minute=20, pinned=True)  # the source still pins it
    blog.post("b1", "Polls open", minute=0, key_event=False)
    await _poll(client, timeline, source)
    page = (await client.get(_api(timeline, "/events"), params={"order": "asc"})).json()
    assert [e["id"] for e in page["pinned"]] == [b1["id"]]
    first, _, third = page["events"]
    assert (first["pinned"], first["key_event"], first["title"]) == (True, True, "Polls open now")
    assert (third["pinned"], third["note"], third["body_text"]) == (
        False,
        "Guide updated at 9pm",
        "Read our guide, updated",
    )
    keys = (await client.get(_api(timeline, "/events"), params={"key_events": "true", "order": "asc"})).json()
    assert [e["upstream_id"] for e in keys["events"]] == ["b1", "b2"]

    cleared = await _patch(client, timeline, b3["id"], {"pinned": None})
    assert cleared["pinned"] is True and cleared["overrides"]["pinned"] is None


async def test_editorial_posts_are_created_edited_and_deleted_with_revisions(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    created = await client.post(
        _api(timeline, "/events"),
        json={
            "body_html": "<p>What we know so far<script>x()</script></p>",
            "title": "What we know",
            "pinned": True,
            "published_at": "2024-05-01T12:05:00Z",
            "authors": ["Newsdesk"],
        },
        headers=DESK,
    )
    assert created.status_code == 201, created.text
    post = created.json()
    assert (post["editorial"], post["revision"], post["body_html"]) == (True, 1, "<p>What we know so far</p>")
    order = [
        e["upstream_id"]
        for e in (await client.get(_api(timeline, "/events"), params={"order": "asc"})).json()["events"]
    ]
    assert order == ["b1", post["upstream_id"], "b2", "b3"]
    assert post["id"] in [e["id"] for e in (await client.get(_api(timeline, "/events"))).json()["pinned"]]

    edited = await _patch(client, timeline, post["id"], {"body_html": "<p>What we know, updated</p>"})
    assert (edited["revision"], edited["body_text"], edited["title"]) == (
        2,
        "What we know, updated",
        "What we know",
    )
    now = await client.post(_api(timeline, "/events"), json={"body_html": "<p>Now</p>"}, headers=AUTH)
    assert now.status_code == 201 and now.json()["published_at"] > "2024-05-02"

    gone = await client.delete(_api(timeline, f"/events/{post['id']}"), headers=AUTH)
    assert (gone.status_code, gone.content) == (204, b"")
    assert set((await client.get(_api(timeline, f"/events/{post['id']}"))).json()) == TOMBSTONE_FIELDS
    assert (await client.delete(_api(timeline, f"/events/{post['id']}"), headers=AUTH)).status_code == 204
    history = (await client.get(_api(timeline, f"/events/{post['id']}/revisions"), headers=AUTH)).json()
    assert [(r["revision"], r["made_by"], r["editor"]) for r in history] == [
        (1, "editor", "desk"),
        (2, "editor", "alice"),
    ]
    hidden_history = await client.get(_api(timeline, f"/events/{post['id']}/revisions"))
    assert_problem(hidden_history, 404, "not_found.event")


async def test_deleting_an_ingested_event_hides_it(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    event = await _event(client, timeline, "b1")
    assert (await client.delete(_api(timeline, f"/events/{event['id']}"), headers=AUTH)).status_code == 204
    keyed = (await client.get(_api(timeline, f"/events/{event['id']}"), headers=AUTH)).json()
    assert (keyed["hidden"], keyed["deleted"]) == (True, False)
    public_history = (await client.get(_api(timeline, f"/events/{event['id']}/revisions"))).status_code
    assert public_history == 404


async def test_the_audit_lists_each_action_with_the_keys_name(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    event = await _event(client, timeline, "b2")
    await _patch(client, timeline, event["id"], {"pinned": True}, DESK)
    post = (
        await client.post(_api(timeline, "/events"), json={"body_html": "<p>Ours</p>"}, headers=AUTH)
    ).json()
    await client.delete(_api(timeline, f"/events/{event['id']}"), headers=DESK)

    audit = await client.get(_api(timeline, "/audit"), params={"limit": 2}, headers=AUTH)
    assert audit.status_code == 200 and audit.headers["cache-control"] == "private, no-store"
    first = audit.json()
    assert [(a["editor"], a["action"], a["event_id"]) for a in first["actions"]] == [
        ("desk", "delete", event["id"]),
        ("alice", "post", post["id"]),
    ]
    assert first["actions"][0]["changes"] == {"hidden": {"before": False, "after": True}}
    rest = (
        await client.get(_api(timeline, "/audit"), params={"before_seq": first["next"]}, headers=AUTH)
    ).json()
    assert [(a["editor"], a["changes"]) for a in rest["actions"]] == [
        ("desk", {"pinned": {"before": None, "after": True}})
    ]
    assert rest["next"] is None
    assert all(a["at"].endswith("Z") for a in first["actions"] + rest["actions"])
    assert_problem(await client.get(_api(timeline, "/audit")), 401, "unauthorized")


async def test_every_refusal_is_a_problem(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    event = await _event(client, timeline, "b1")
    one = _api(timeline, f"/events/{event['id']}")
    refused = await client.patch(one, json={"body_html": "<p>Fixed</p>"}, headers=AUTH)
    problem = assert_problem(refused, 409, "conflict.sourced_content")
    assert "Hide it" in problem["detail"] and "POST" in problem["detail"]
    assert_problem(
        await client.patch(_api(timeline, "/events/ev_none"), json={"pinned": True}, headers=AUTH),
        404,
        "not_found.event",
    )
    assert_problem(
        await client.patch("/api/v1/timelines/none/events/x", json={"pinned": True}, headers=AUTH),
        404,
        "not_found.timeline",
    )
    assert_problem(await client.patch(one, json={"pinned": "yes"}, headers=AUTH), 400, "invalid_request")
    for when in (1714564800, "2024-05-01", "2024-05-01T12:00:00"):  # a time is RFC 3339 with its offset
        sent = {"body_html": "<p>x</p>", "published_at": when}
        assert_problem(
            await client.post(_api(timeline, "/events"), json=sent, headers=AUTH), 400, "invalid_request"
        )
    assert_problem(await client.patch(one, json={"colour": "red"}, headers=AUTH), 400, "invalid_request")
    assert (await client.patch(one, json={}, headers=AUTH)).json()["seq"] == event["seq"]  # no change
    assert_problem(await client.patch(one, json={"body_html": None}, headers=AUTH), 400, "invalid_request")
    assert_problem(await client.patch(one, json={"title": "a\x00b"}, headers=AUTH), 422, "invalid_text")
    assert_problem(await client.patch(one, json={"pinned": True}), 401, "unauthorized")
    assert_problem(
        await client.patch(one, json={"pinned": True}, headers={"Authorization": "Bearer no"}),
        403,
        "forbidden",
    )
    assert_problem(
        await client.post(_api(timeline, "/events"), json={"title": "no body"}, headers=AUTH),
        400,
        "invalid_request",
    )

    blog.delete("b1")
    await _poll(client, timeline, source)
    gone = await client.patch(one, json={"pinned": True}, headers=AUTH)
    assert "deleted" in assert_problem(gone, 409, "conflict.event_deleted")["detail"]
    assert_problem(await client.delete(one, headers=AUTH), 409, "conflict.event_deleted")


async def test_readers_see_each_editorial_change_at_once(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    """Every read that was cached, and every ETag a client holds, moves on with the change."""
    event = await _event(client, timeline, "b2")
    reads = [
        "/events",
        "/events?order=asc",
        f"/events/{event['id']}",
        "/changes",
        "/feed.atom",
        "/feed.json",
        "/timelinejs.json",
    ]
    urls = [_api(timeline, path) for path in reads] + [f"/embed/{timeline['slug']}"]
    tags = {url: (await client.get(url)).headers["etag"] for url in urls}
    for url in urls:  # served from the cache, or 304
        assert (await client.get(url, headers={"If-None-Match": tags[url]})).status_code == 304

    await _patch(
        client, timeline, event["id"], {"title": "Exit poll: a dead heat", "note": "Figures by ward"}
    )
    for url in urls:
        fresh = await client.get(url, headers={"If-None-Match": tags[url]})
        assert fresh.status_code == 200, url
        assert "Exit poll: a dead heat" in fresh.text and "Figures by ward" in fresh.text, url


async def test_the_openapi_document_describes_the_editorial_api(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    paths, schemas = document["paths"], document["components"]["schemas"]
    one = paths["/api/v1/timelines/{timeline}/events/{event_id}"]
    for method, operation in (("patch", one["patch"]), ("delete", one["delete"])):
        assert operation["security"] == [{"bearer": []}], method
        assert {"401", "403", "404", "409"} <= set(operation["responses"]), method
    created = paths["/api/v1/timelines/{timeline}/events"]["post"]
    assert "201" in created["responses"] and "EditedEvent" in str(created["responses"]["201"])
    assert schemas["PostCreate"]["additionalProperties"] is False
    assert schemas["EventPatch"]["additionalProperties"] is False
    assert set(schemas["Overrides"]["properties"]) == {"hidden", "pinned", "key_event", "title", "note"}
    assert "AuditLog" in str(paths["/api/v1/timelines/{timeline}/audit"]["get"]["responses"]["200"])
    assert "AuditEntry" in str(schemas["AuditLog"]["properties"]["actions"])
    assert "EditedEvent" in str(one["get"]["responses"]["200"])


async def test_a_preview_is_the_body_a_post_would_store(client: Client, timeline: dict[str, Any]) -> None:
    body = '<p onclick="x()">Turnout <b>high</b> <script>alert(1)</script><img src="https://img.example/a.jpg"></p>'

    previewed = await client.post("/api/v1/preview", json={"body_html": body}, headers=AUTH)
    posted = await client.post(
        f"/api/v1/timelines/{timeline['id']}/events", json={"body_html": body}, headers=AUTH
    )

    assert previewed.status_code == 200, previewed.text
    assert previewed.json() == {
        "body_html": posted.json()["body_html"],
        "body_text": posted.json()["body_text"],
    }
    assert "script" not in previewed.json()["body_html"] and "onclick" not in previewed.json()["body_html"]
    assert previewed.headers["cache-control"] == "private, no-store"
    assert_problem(await client.post("/api/v1/preview", json={"body_html": body}), 401, "unauthorized")


async def test_a_timeline_names_its_editorial_source(client: Client, timeline: dict[str, Any]) -> None:
    posted = await client.post(
        f"/api/v1/timelines/{timeline['id']}/events", json={"body_html": "<p>Ours</p>"}, headers=AUTH
    )
    found = (await client.get(f"/api/v1/timelines/{timeline['id']}")).json()

    assert posted.json()["source_id"] == found["editorial_source"]
    assert found["editorial_source"] not in [s["id"] for s in found["sources"]]
