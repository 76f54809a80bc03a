"""Reading a timeline through the API: pages, cursors, Link headers, filters, events, revisions, changes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.timeline.api.conftest import Client
from tests.timeline.api.support import AUTH, LiveBlog, assert_problem

pytestmark = pytest.mark.usefixtures("source")

LINK = re.compile(r'<([^>]+)>; rel="(next|prev)"')


def events_of(timeline: dict[str, Any]) -> str:
    return f"/api/v1/timelines/{timeline['id']}/events"


def links(response: Any) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(response.headers.get("link", ""))}


async def poll(client: Client, timeline: dict[str, Any], source: dict[str, Any]) -> dict[str, int]:
    response = await client.post(
        f"/api/v1/timelines/{timeline['id']}/sources/{source['id']}/poll", headers=AUTH
    )
    assert response.status_code == 200, response.text
    counts: dict[str, int] = response.json()
    return counts


async def test_newest_first_by_default(client: Client, timeline: dict[str, Any]) -> None:
    response = await client.get(events_of(timeline))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    page = response.json()
    assert [e["upstream_id"] for e in page["events"]] == ["b3", "b2", "b1"]
    assert (page["next"], page["prev"]) == (None, None)
    assert "link" not in response.headers
    event = page["events"][0]
    assert event["id"].startswith("ev_") and event["timeline_id"] == timeline["id"]
    assert (event["published_at"], event["revision"], event["deleted"]) == ("2024-05-01T12:20:00Z", 1, False)
    assert event["url"].startswith("https://news.example/") and "block-b3" in event["url"]
    assert event["body_html"] == "<p>Read our guide</p>" and event["body_text"] == "Read our guide"


async def test_oldest_first_with_order_asc(client: Client, timeline: dict[str, Any]) -> None:
    page = (await client.get(events_of(timeline), params={"order": "asc"})).json()
    assert [e["body_text"] for e in page["events"]] == ["Polls open", "First exit poll", "Read our guide"]


async def test_pages_carry_cursors_and_link_headers(client: Client, timeline: dict[str, Any]) -> None:
    first = await client.get(events_of(timeline), params={"order": "asc", "limit": 1})
    assert first.json()["prev"] is None
    assert set(links(first)) == {"next"}

    second = await client.get(links(first)["next"])
    assert set(links(second)) == {"next", "prev"}
    assert links(second)["next"].startswith(events_of(timeline) + "?")
    assert "order=asc" in links(second)["next"] and "limit=1" in links(second)["next"]
    assert f"after={second.json()['next']}" in links(second)["next"]
    assert f"before={second.json()['prev']}" in links(second)["prev"]

    third = await client.get(links(second)["next"])
    assert set(links(third)) == {"prev"} and third.json()["next"] is None
    walked = [p.json()["events"][0]["upstream_id"] for p in (first, second, third)]
    assert walked == ["b1", "b2", "b3"]

    back = await client.get(links(third)["prev"])
    assert back.json() == second.json()
    back_again = await client.get(
        events_of(timeline), params={"order": "asc", "limit": 1, "before": second.json()["prev"]}
    )
    assert back_again.json()["events"] == first.json()["events"]


async def test_cursors_walk_newest_first_too(client: Client, timeline: dict[str, Any]) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get(events_of(timeline), params=params)).json()
        seen += [e["upstream_id"] for e in page["events"]]
        if page["next"] is None:
            break
        params["after"] = page["next"]
    assert seen == ["b3", "b2", "b1"]


async def test_key_events_only(client: Client, timeline: dict[str, Any]) -> None:
    page = (await client.get(events_of(timeline), params={"key_events": "true"})).json()
    assert [(e["upstream_id"], e["key_event"]) for e in page["events"]] == [("b2", True)]


@pytest.mark.parametrize(
    "since",
    ["2024-05-01T12:10:00Z", "2024-05-01T13:10:00+01:00", "2024-05-01T12:10:00", "2024-05-01T12:05:00.5Z"],
)
async def test_since_a_time(client: Client, timeline: dict[str, Any], since: str) -> None:
    page = (await client.get(events_of(timeline), params={"since": since})).json()
    assert [e["upstream_id"] for e in page["events"]] == ["b3", "b2"]


async def test_pinned_events_are_listed_apart_and_in_place(client: Client, timeline: dict[str, Any]) -> None:
    page = (await client.get(events_of(timeline), params={"key_events": "true"})).json()

    assert [e["upstream_id"] for e in page["pinned"]] == ["b3"]
    assert page["pinned"][0]["pinned"] is True
    everything = (await client.get(events_of(timeline))).json()
    assert "b3" in [e["upstream_id"] for e in everything["events"]]


async def test_last_seq_is_the_timelines(client: Client, timeline: dict[str, Any]) -> None:
    page = (await client.get(events_of(timeline))).json()
    found = (await client.get(f"/api/v1/timelines/{timeline['id']}")).json()

    assert page["last_seq"] == found["last_seq"] == max(e["seq"] for e in page["events"])


async def test_an_empty_timeline_reads_as_an_empty_page(client: Client) -> None:
    empty = (await client.post("/api/v1/timelines", json={"title": "Quiet"}, headers=AUTH)).json()
    response = await client.get(events_of(empty))
    assert response.json() == {"events": [], "pinned": [], "next": None, "prev": None, "last_seq": 0}


async def test_one_event_and_its_revisions(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    page = (await client.get(events_of(timeline), params={"order": "asc"})).json()
    first = page["events"][0]
    blog.edit("b1", "Polls are now open")
    assert await poll(client, timeline, source) == {"new": 0, "updated": 1, "deleted": 0}

    event = await client.get(f"{events_of(timeline)}/{first['id']}")
    revisions = await client.get(f"{events_of(timeline)}/{first['id']}/revisions")

    assert event.status_code == revisions.status_code == 200
    assert (event.json()["id"], event.json()["revision"]) == (first["id"], 2)
    assert event.json()["body_text"] == "Polls are now open"
    history = revisions.json()
    assert [(r["revision"], r["body_text"]) for r in history] == [
        (1, "Polls open"),
        (2, "Polls are now open"),
    ]
    assert all(r["id"] == first["id"] and r["recorded_at"].endswith("Z") for r in history)
    assert history[0]["seq"] < history[1]["seq"] == event.json()["seq"]


async def test_a_deleted_event_is_a_tombstone(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    page = (await client.get(events_of(timeline), params={"order": "asc"})).json()
    blog.delete("b1")
    assert await poll(client, timeline, source) == {"new": 0, "updated": 0, "deleted": 1}

    event = (await client.get(f"{events_of(timeline)}/{page['events'][0]['id']}")).json()

    assert event["deleted"] is True
    listed = (await client.get(events_of(timeline))).json()["events"]
    assert [e["upstream_id"] for e in listed] == ["b3", "b2"]


async def test_changes_from_zero_in_pages(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    ids = {e["upstream_id"]: e["id"] for e in (await client.get(events_of(timeline))).json()["events"]}
    blog.edit("b2", "Second exit poll")
    blog.delete("b3")
    await poll(client, timeline, source)
    changes_url = f"/api/v1/timelines/{timeline['id']}/changes"

    everything = (await client.get(changes_url)).json()
    paged: list[dict[str, Any]] = []
    since = 0
    while batch := (await client.get(changes_url, params={"since": since, "limit": 1})).json()["changes"]:
        paged += batch
        since = batch[-1]["seq"]

    assert paged == everything["changes"]
    assert [(c["kind"], c["event"]["id"]) for c in paged] == [
        ("upsert", ids["b1"]),
        ("upsert", ids["b2"]),
        ("delete", ids["b3"]),  # a tombstone: its id, seq and time only
    ]
    seqs = [c["seq"] for c in paged]
    assert seqs == sorted(seqs) and seqs[-1] == everything["last_seq"] == everything["next_since"]
    assert paged[1]["event"]["revision"] == 2 and paged[2]["event"]["deleted"] is True


async def test_changes_after_the_last_seq_are_empty(client: Client, timeline: dict[str, Any]) -> None:
    last_seq = (await client.get(events_of(timeline))).json()["last_seq"]

    response = await client.get(f"/api/v1/timelines/{timeline['slug']}/changes", params={"since": last_seq})

    assert response.json() == {"changes": [], "next_since": last_seq, "last_seq": last_seq}


async def test_next_since_reads_on_exactly(client: Client, timeline: dict[str, Any]) -> None:
    url = f"/api/v1/timelines/{timeline['id']}/changes"
    first = (await client.get(url, params={"limit": 2})).json()
    rest = (await client.get(url, params={"since": first["next_since"]})).json()

    assert len(first["changes"]) == 2 and len(rest["changes"]) == 1
    assert first["next_since"] == first["changes"][-1]["seq"] < rest["changes"][0]["seq"]


# Errors: every one is problem+json naming the parameter at fault.


async def test_unknown_timelines_and_events_are_404(client: Client, timeline: dict[str, Any]) -> None:
    for path in ("/events", "/changes", "/events/ev_nope", "/events/ev_nope/revisions", ""):
        assert_problem(await client.get(f"/api/v1/timelines/nope{path}"), 404, "not_found.timeline")
    for path in ("/ev_nope", "/ev_nope/revisions"):
        problem = assert_problem(await client.get(events_of(timeline) + path), 404, "not_found.event")
        assert "ev_nope" in problem["detail"]


async def test_an_event_is_found_only_in_its_own_timeline(client: Client, timeline: dict[str, Any]) -> None:
    event = (await client.get(events_of(timeline))).json()["events"][0]
    other = (await client.post("/api/v1/timelines", json={"title": "Other"}, headers=AUTH)).json()

    assert_problem(await client.get(f"{events_of(other)}/{event['id']}"), 404, "not_found.event")


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"since": "yesterday"}, "since"),
        ({"key_events": "perhaps"}, "key_events"),
    ],
)
async def test_bad_query_parameters_are_400(
    client: Client, timeline: dict[str, Any], params: dict[str, Any], parameter: str
) -> None:
    response = await client.get(events_of(timeline), params=params)
    assert parameter in assert_problem(response, 400, "invalid_request", parameter=parameter)["detail"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"since": -1}, "since"),
        ({"since": "x"}, "since"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
    ],
)
async def test_bad_change_parameters_are_400(
    client: Client, timeline: dict[str, Any], params: dict[str, Any], parameter: str
) -> None:
    response = await client.get(f"/api/v1/timelines/{timeline['id']}/changes", params=params)
    assert_problem(response, 400, "invalid_request", parameter=parameter)


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "eyJ4IjoxfQ",  # {"x":1}
        "WzIsMCwwLCJldl94Il0",  # version 2
        "%%%",
        "WzEsMTE4MDU5MTYyMDcxNzQxMTMwMzQyNCwwLCJldl94Il0",  # a time past 64 bits
    ],
)
async def test_a_cursor_we_did_not_issue_is_400(
    client: Client, timeline: dict[str, Any], cursor: str
) -> None:
    for name in ("after", "before"):
        response = await client.get(events_of(timeline), params={name: cursor})
        assert "next`/`prev" in assert_problem(response, 400, "invalid_cursor")["detail"]


async def test_a_cursor_with_a_huge_position_is_400(client: Client, timeline: dict[str, Any]) -> None:
    cursor = "WzEsMCwxMTgwNTkxNjIwNzE3NDExMzAzNDI0LCJldl94Il0"  # [1, 0, 2**70, "ev_x"]
    response = await client.get(events_of(timeline), params={"after": cursor})
    assert_problem(response, 400, "invalid_cursor")


async def test_a_seq_past_64_bits_is_not_a_server_error(client: Client, timeline: dict[str, Any]) -> None:
    response = await client.get(f"/api/v1/timelines/{timeline['id']}/changes", params={"since": 2**63})

    if response.status_code != 200:
        assert_problem(response, 400, "invalid_request", parameter="since")


@pytest.mark.parametrize("name", ["after", "before"])
async def test_a_bad_cursor_names_its_parameter(client: Client, timeline: dict[str, Any], name: str) -> None:
    response = await client.get(events_of(timeline), params={name: "not-a-cursor"})
    assert_problem(response, 400, "invalid_cursor", parameter=name)


async def test_before_and_after_together_are_400(client: Client, timeline: dict[str, Any]) -> None:
    page = (await client.get(events_of(timeline), params={"limit": 1})).json()

    response = await client.get(events_of(timeline), params={"after": page["next"], "before": page["next"]})

    assert_problem(response, 400, "invalid_request", parameter="before")
