"""Timelines and sources through the API: create, read, change, delete; attach, poll, detach; keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.timeline.api.conftest import Client
from tests.timeline.api.support import AUTH, GUARDIAN, LiveBlog, assert_problem
from tests.upstream import Upstream, closed_port, respond

TIMELINES = "/api/v1/timelines"


async def test_create_answers_201_with_a_slug_from_the_title(client: Client) -> None:
    response = await client.post(TIMELINES, json={"title": "Élection 2024: live!"}, headers=AUTH)

    assert response.status_code == 201
    created = response.json()
    assert created["slug"] == "election-2024-live"
    assert created["id"].startswith("tl_")
    assert (created["title"], created["status"], created["sources"], created["last_seq"]) == (
        "Élection 2024: live!",
        "live",
        [],
        0,
    )


async def test_create_takes_an_explicit_slug_once(client: Client) -> None:
    first = await client.post(TIMELINES, json={"title": "Budget", "slug": "budget-day"}, headers=AUTH)
    again = await client.post(TIMELINES, json={"title": "Budget", "slug": "budget-day"}, headers=AUTH)

    assert first.json()["slug"] == "budget-day"
    assert "budget-day" in assert_problem(again, 409, "conflict")["detail"]


async def test_list_reads_every_timeline_oldest_first(client: Client) -> None:
    for title in ("One", "Two"):
        await client.post(TIMELINES, json={"title": title}, headers=AUTH)

    response = await client.get(TIMELINES)

    assert response.status_code == 200
    assert [t["slug"] for t in response.json()] == ["one", "two"]


async def test_one_timeline_by_id_or_slug_with_its_sources(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    by_id = await client.get(f"{TIMELINES}/{timeline['id']}")
    by_slug = await client.get(f"{TIMELINES}/{timeline['slug']}")

    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.json() == by_slug.json()
    found = by_id.json()
    assert found["last_seq"] >= 3
    assert [(s["id"], s["url"], s["adapter"]) for s in found["sources"]] == [
        (source["id"], source["url"], "auto")
    ]
    assert found["sources"][0]["health"]["status"]


async def test_patch_changes_title_and_status(client: Client, timeline: dict[str, Any]) -> None:
    response = await client.patch(
        f"{TIMELINES}/{timeline['slug']}", json={"title": "Results", "status": "ended"}, headers=AUTH
    )

    assert response.status_code == 200
    assert (response.json()["title"], response.json()["status"]) == ("Results", "ended")
    assert (await client.get(f"{TIMELINES}/{timeline['id']}")).json()["status"] == "ended"


async def test_a_new_title_reaches_cached_reads(client: Client, timeline: dict[str, Any]) -> None:
    feed = f"{TIMELINES}/{timeline['id']}/feed.json"
    before = await client.get(feed)

    await client.patch(f"{TIMELINES}/{timeline['id']}", json={"title": "Results"}, headers=AUTH)
    after = await client.get(feed, headers={"If-None-Match": before.headers["etag"]})

    assert after.status_code == 200 and after.json()["title"] == "Results"
    assert after.headers["etag"] != before.headers["etag"]


async def test_delete_removes_the_timeline_and_its_events(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    assert (await client.get(f"{TIMELINES}/{timeline['id']}/events")).status_code == 200

    response = await client.delete(f"{TIMELINES}/{timeline['slug']}", headers=AUTH)

    assert (response.status_code, response.content) == (204, b"")
    assert_problem(await client.get(f"{TIMELINES}/{timeline['id']}"), 404, "not_found.timeline")
    assert_problem(await client.get(f"{TIMELINES}/{timeline['id']}/events"), 404, "not_found.timeline")
    assert_problem(
        await client.delete(f"{TIMELINES}/{timeline['id']}", headers=AUTH), 404, "not_found.timeline"
    )


async def test_add_source_answers_201_with_its_first_poll(
    client: Client, timeline: dict[str, Any], blog: LiveBlog, upstream: Upstream
) -> None:
    url = upstream.url("/blog")
    response = await client.post(
        f"{TIMELINES}/{timeline['slug']}/sources", json={"url": url, "adapter": "guardian"}, headers=AUTH
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith("src_")
    assert (created["url"], created["adapter"], created["timeline_id"]) == (url, "guardian", timeline["id"])
    assert created["first_poll"] == {"new": 3, "updated": 0, "deleted": 0}
    assert created["found"] == {"format": "guardian", "title": "Election night – live", "updates": 3}


async def test_add_source_reads_a_real_live_blog(
    client: Client, timeline: dict[str, Any], upstream: Upstream, fixture_bytes: Callable[[str], bytes]
) -> None:
    upstream.routes["/clockwatch"] = respond(
        "200 OK", {"Content-Type": "application/json"}, fixture_bytes(GUARDIAN)
    )

    response = await client.post(
        f"{TIMELINES}/{timeline['id']}/sources", json={"url": upstream.url("/clockwatch")}, headers=AUTH
    )

    assert response.status_code == 201, response.text
    assert response.json()["first_poll"] == {"new": 12, "updated": 0, "deleted": 0}
    page = (await client.get(f"{TIMELINES}/{timeline['id']}/events", params={"limit": 200})).json()
    assert len(page["events"]) == 12


async def test_the_same_source_twice_conflicts(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    response = await client.post(
        f"{TIMELINES}/{timeline['id']}/sources", json={"url": source["url"]}, headers=AUTH
    )
    assert_problem(response, 409, "conflict")


async def test_an_unreachable_source_is_422_with_the_fetchers_message(
    client: Client, timeline: dict[str, Any]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/blog"

    response = await client.post(f"{TIMELINES}/{timeline['id']}/sources", json={"url": url}, headers=AUTH)

    problem = assert_problem(response, 422, "fetch.connect", parameter="url")
    assert "could not connect to 127.0.0.1" in problem["detail"]
    assert problem["url"].startswith(url.removesuffix("/blog"))  # the source or its robots.txt
    assert (await client.get(f"{TIMELINES}/{timeline['id']}")).json()["sources"] == []


async def test_an_upstream_error_status_is_422(
    client: Client, timeline: dict[str, Any], upstream: Upstream
) -> None:
    response = await client.post(
        f"{TIMELINES}/{timeline['id']}/sources", json={"url": upstream.url("/missing")}, headers=AUTH
    )

    problem = assert_problem(response, 422, "fetch.http_status", parameter="url")
    assert "answered 404 Not Found" in problem["detail"]


@pytest.mark.parametrize(
    ("body", "adapter", "kind", "message"),
    [
        (b"\x00\x01 not a live blog", "auto", "parse.format_not_detected", "the format was not recognised"),
        (
            b"<rss version='2.0'><channel><title>t</title></channel></rss>",
            "guardian",
            "parse.invalid",
            "expected a Guardian Content API item",
        ),
    ],
    ids=["unknown-format", "not-what-the-adapter-expects"],
)
async def test_an_unparseable_source_is_422_with_the_parsers_message(
    client: Client,
    timeline: dict[str, Any],
    upstream: Upstream,
    body: bytes,
    adapter: str,
    kind: str,
    message: str,
) -> None:
    upstream.routes["/junk"] = respond("200 OK", {"Content-Type": "application/octet-stream"}, body)

    response = await client.post(
        f"{TIMELINES}/{timeline['id']}/sources",
        json={"url": upstream.url("/junk"), "adapter": adapter},
        headers=AUTH,
    )

    assert message in assert_problem(response, 422, kind, parameter="url")["detail"]
    assert (await client.get(f"{TIMELINES}/{timeline['id']}")).json()["sources"] == []


async def test_poll_now_counts_new_updated_and_deleted(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    poll = f"{TIMELINES}/{timeline['slug']}/sources/{source['id']}/poll"
    unchanged = await client.post(poll, headers=AUTH)
    blog.post("b4", "Turnout is up", minute=30)
    blog.edit("b1", "Polls are open")
    blog.delete("b2")

    changed = await client.post(poll, headers=AUTH)

    assert (unchanged.status_code, unchanged.json()) == (200, {"new": 0, "updated": 0, "deleted": 0})
    assert (changed.status_code, changed.json()) == (200, {"new": 1, "updated": 1, "deleted": 1})
    page = (await client.get(f"{TIMELINES}/{timeline['id']}/events", params={"order": "asc"})).json()
    assert [e["body_text"] for e in page["events"]] == ["Polls are open", "Read our guide", "Turnout is up"]


async def test_poll_now_reports_an_upstream_gone_bad(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], upstream: Upstream
) -> None:
    truncated = b'{"response": {"content": {"blocks": {"body": ['
    upstream.routes["/blog"] = respond("200 OK", {"Content-Type": "application/json"}, truncated)

    response = await client.post(f"{TIMELINES}/{timeline['id']}/sources/{source['id']}/poll", headers=AUTH)

    assert "not valid JSON" in assert_problem(response, 422, "parse.invalid", parameter="url")["detail"]


async def test_remove_source_turns_its_events_into_tombstones(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    before = (await client.get(f"{TIMELINES}/{timeline['id']}/changes")).json()

    response = await client.delete(f"{TIMELINES}/{timeline['id']}/sources/{source['id']}", headers=AUTH)

    assert (response.status_code, response.content) == (204, b"")
    after = (
        await client.get(f"{TIMELINES}/{timeline['id']}/changes", params={"since": before["last_seq"]})
    ).json()
    assert [c["kind"] for c in after["changes"]] == ["delete"] * 3
    assert {c["event"]["id"] for c in after["changes"]} == {c["event"]["id"] for c in before["changes"]}
    assert all(c["event"]["deleted"] for c in after["changes"])
    assert (await client.get(f"{TIMELINES}/{timeline['id']}/events")).json()["events"] == []
    assert (await client.get(f"{TIMELINES}/{timeline['id']}")).json()["sources"] == []


async def test_reattaching_a_source_revives_its_events_under_the_same_ids(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], upstream: Upstream
) -> None:
    events = f"{TIMELINES}/{timeline['id']}/events"
    ids = [e["id"] for e in (await client.get(events)).json()["events"]]
    await client.delete(f"{TIMELINES}/{timeline['id']}/sources/{source['id']}", headers=AUTH)
    detached = (await client.get(f"{TIMELINES}/{timeline['id']}/changes")).json()["last_seq"]

    again = await client.post(
        f"{TIMELINES}/{timeline['id']}/sources", json={"url": upstream.url("/blog")}, headers=AUTH
    )

    assert again.status_code == 201 and again.json()["id"] == source["id"]
    assert [e["id"] for e in (await client.get(events)).json()["events"]] == ids
    revived = (await client.get(f"{TIMELINES}/{timeline['id']}/changes", params={"since": detached})).json()[
        "changes"
    ]
    assert sorted(c["event"]["id"] for c in revived) == sorted(ids)
    assert {c["kind"] for c in revived} == {"upsert"} and all(c["seq"] > detached for c in revived)


async def test_poll_now_updates_the_source_health(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], upstream: Upstream
) -> None:
    """A failing source that answers again is healthy after "poll now", as after a scheduled poll."""
    base = f"{TIMELINES}/{timeline['id']}"
    poll = f"{base}/sources/{source['id']}/poll"
    working = upstream.routes["/blog"]
    upstream.routes["/blog"] = respond("503 Service Unavailable")
    assert_problem(await client.post(poll, headers=AUTH), 422, "fetch.http_status", parameter="url")
    (failing,) = (await client.get(base)).json()["sources"]
    assert failing["health"]["status"] == "failing"

    upstream.routes["/blog"] = working
    assert (await client.post(poll, headers=AUTH)).status_code == 200
    (healthy,) = (await client.get(base)).json()["sources"]
    assert healthy["health"]["status"] == "ok" and healthy["health"]["consecutive_failures"] == 0
    assert (await client.post(poll, headers=AUTH)).json() == {"new": 0, "updated": 0, "deleted": 0}


async def test_unknown_sources_are_404(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    base = f"{TIMELINES}/{timeline['id']}/sources"
    other = (await client.post(TIMELINES, json={"title": "Other"}, headers=AUTH)).json()

    assert_problem(await client.delete(f"{base}/src_nope", headers=AUTH), 404, "not_found.source")
    assert_problem(await client.post(f"{base}/src_nope/poll", headers=AUTH), 404, "not_found.source")
    # A source is found only under its own timeline.
    elsewhere = f"{TIMELINES}/{other['id']}/sources/{source['id']}"
    assert_problem(await client.delete(elsewhere, headers=AUTH), 404, "not_found.source")
    assert_problem(
        await client.post(f"{TIMELINES}/nope/sources/{source['id']}/poll", headers=AUTH),
        404,
        "not_found.timeline",
    )


WRITES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", TIMELINES, {"title": "New"}),
    ("PATCH", f"{TIMELINES}/{{tl}}", {"title": "Renamed"}),
    ("DELETE", f"{TIMELINES}/{{tl}}", None),
    ("POST", f"{TIMELINES}/{{tl}}/sources", {"url": "{url}"}),
    ("POST", f"{TIMELINES}/{{tl}}/sources/{{src}}/poll", None),
    ("DELETE", f"{TIMELINES}/{{tl}}/sources/{{src}}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
async def test_writes_need_the_key(
    client: Client,
    timeline: dict[str, Any],
    source: dict[str, Any],
    upstream: Upstream,
    blog: LiveBlog,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    upstream.routes["/other"] = blog.route()
    url = path.format(tl=timeline["slug"], src=source["id"])
    data = {k: v.format(url=upstream.url("/other")) for k, v in body.items()} if body else None

    async def send(headers: dict[str, str]) -> Any:
        return await client.request(method, url, json=data, headers=headers)

    missing = await send({})
    not_bearer = await send({"Authorization": "Basic dGVzdC1rZXk="})
    wrong = await send({"Authorization": "Bearer not-the-key"})
    right = await send(AUTH)

    for unauthorized in (missing, not_bearer):
        assert_problem(unauthorized, 401, "unauthorized", parameter="Authorization")
        assert unauthorized.headers["www-authenticate"].startswith("Bearer")
    assert "TIMELINE_API_KEYS" in assert_problem(wrong, 403, "forbidden", parameter="Authorization")["detail"]
    assert right.status_code in (200, 201, 204), right.text


async def test_a_refused_write_changes_nothing(client: Client, timeline: dict[str, Any]) -> None:
    await client.patch(f"{TIMELINES}/{timeline['id']}", json={"title": "Hijacked"})
    await client.delete(f"{TIMELINES}/{timeline['id']}", headers={"Authorization": "Bearer wrong"})

    assert (await client.get(f"{TIMELINES}/{timeline['id']}")).json()["title"] == "Election night"


async def test_reads_need_no_key(client: Client, timeline: dict[str, Any]) -> None:
    for path in (TIMELINES, f"{TIMELINES}/{timeline['id']}", f"{TIMELINES}/{timeline['id']}/events"):
        assert (await client.get(path)).status_code == 200


async def test_the_attach_answer_says_what_the_first_poll_found(
    client: Client, timeline: dict[str, Any], upstream: Upstream, fixture_bytes: Callable[[str], bytes]
) -> None:
    upstream.routes["/clockwatch"] = respond(
        "200 OK", {"Content-Type": "application/json"}, fixture_bytes(GUARDIAN)
    )

    response = await client.post(
        f"{TIMELINES}/{timeline['id']}/sources", json={"url": upstream.url("/clockwatch")}, headers=AUTH
    )

    found = response.json()["found"]
    assert (found["format"], found["updates"]) == ("guardian", 12)  # detected: attached as `auto`
    assert found["title"] and isinstance(found["title"], str)


async def test_timelines_count_their_published_events_and_the_newest_time(
    client: Client, timeline: dict[str, Any], source: dict[str, Any]
) -> None:
    events = (await client.get(f"{TIMELINES}/{timeline['id']}/events")).json()["events"]
    newest = events[0]

    await client.patch(
        f"{TIMELINES}/{timeline['id']}/events/{newest['id']}", json={"hidden": True}, headers=AUTH
    )

    (listed,) = (await client.get(TIMELINES)).json()
    one = (await client.get(f"{TIMELINES}/{timeline['id']}")).json()
    assert listed["events"] == one["events"] == len(events) - 1
    assert listed["last_event_at"] == one["last_event_at"] == events[1]["published_at"]


async def test_an_empty_timeline_has_no_events_and_no_newest_time(client: Client) -> None:
    created = (await client.post(TIMELINES, json={"title": "Quiet"}, headers=AUTH)).json()

    assert (created["events"], created["last_event_at"]) == (0, None)


async def test_the_key_route_names_the_key_and_refuses_others(client: Client) -> None:
    named = await client.get("/api/v1/key", headers=AUTH)
    wrong = await client.get("/api/v1/key", headers={"Authorization": "Bearer nope"})

    assert named.status_code == 200 and named.json() == {"name": "key1"}
    assert named.headers["cache-control"] == "private, no-store"
    assert_problem(wrong, 403, "forbidden")
    assert_problem(await client.get("/api/v1/key"), 401, "unauthorized")
