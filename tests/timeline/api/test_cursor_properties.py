"""Properties of reading through the API while the timeline changes underneath.

Writes go straight to the app's store (as a poll would), which tells the app as it tells of every write;
reads go through HTTP. A cursor walk, with inserts, edits and deletions between its pages, must
list every event that lived through the whole walk exactly once, nothing twice, in the timeline's total
order (published_at, position, id). Replaying `changes` from 0 must rebuild the live timeline exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar

from tests.timeline.api.conftest import Client
from tests.timeline.store.drafts import T0, draft
from timeline.api.deps import Services

Order = Literal["asc", "desc"]
UPSTREAM_IDS = tuple("abcdefghij")
MAX_PAGES = 2 * len(UPSTREAM_IDS) + 2  # a page holds at least one event, unless it is the last

# An op: (upstream id, body or None for a deletion). Few times and positions, so ties are common and
# the id has to break them.
ops = st.lists(st.tuples(st.sampled_from(UPSTREAM_IDS), st.sampled_from(("x", "y", "z", None))), max_size=5)
walks = st.tuples(st.sampled_from(("asc", "desc")), st.integers(1, 7), st.lists(ops, max_size=6))
placing = st.fixed_dictionaries(
    {uid: st.tuples(st.integers(0, 2), st.integers(0, 1)) for uid in UPSTREAM_IDS}
)


@dataclass
class Blog:
    """The app's store as a poller would write it, and what the timeline should hold."""

    services: Services
    source_id: str
    timeline_id: str
    placing: dict[str, tuple[int, int]]
    live: dict[str, str] = field(default_factory=dict)

    async def apply(self, batch: list[tuple[str, str | None]]) -> None:
        drafts = [self._draft(uid, body) for uid, body in batch]
        await self.services.store.apply(self.source_id, drafts, complete=False, now=T0)
        for uid, body in batch:
            if body is None:
                self.live.pop(uid, None)
            else:
                self.live[uid] = body

    def _draft(self, uid: str, body: str | None) -> Any:
        minute, position = self.placing[uid]
        at = T0 + timedelta(minutes=minute)
        return draft(self.source_id, uid, body or "gone", at=at, position=position, deleted=body is None)


def sort_key(event: dict[str, Any]) -> tuple[datetime, int, str]:
    published = datetime.fromisoformat(event["published_at"].replace("Z", "+00:00"))
    return published, event["position"], event["id"]


async def walk(
    client: Client, blog: Blog, order: Order, limit: int, between: list[list[tuple[str, str | None]]]
) -> list[dict[str, Any]]:
    """Follow `next` from the first page to the end, applying one batch of `between` after each page."""
    url = f"/api/v1/timelines/{blog.timeline_id}/events"
    params: dict[str, Any] = {"order": order, "limit": limit}
    seen: list[dict[str, Any]] = []
    pending = list(between)
    for _ in range(MAX_PAGES):
        response = await client.get(url, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["events"]) <= limit
        seen += page["events"]
        if pending:
            await blog.apply(pending.pop(0))
        if page["next"] is None:
            return seen
        params["after"] = page["next"]
    raise AssertionError(f"the walk did not end after {MAX_PAGES} pages")


async def walk_back(client: Client, blog: Blog, order: Order, limit: int) -> list[dict[str, Any]]:
    """From the last page, follow `prev` to the start; pages are prepended so the order stays `order`."""
    url = f"/api/v1/timelines/{blog.timeline_id}/events"
    params: dict[str, Any] = {"order": order, "limit": limit}
    page = (await client.get(url, params=params)).json()
    for _ in range(MAX_PAGES):
        if page["next"] is None:
            break
        page = (await client.get(url, params={**params, "after": page["next"]})).json()
    seen = list(page["events"])
    for _ in range(MAX_PAGES):
        if page["prev"] is None:
            return seen
        page = (await client.get(url, params={**params, "before": page["prev"]})).json()
        seen = page["events"] + seen
    raise AssertionError(f"the walk back did not end after {MAX_PAGES} pages")


async def replay(client: Client, blog: Blog, limit: int) -> dict[str, dict[str, Any]]:
    """The live events rebuilt from `changes` since 0, read `limit` at a time with `next_since`."""
    url = f"/api/v1/timelines/{blog.timeline_id}/changes"
    rebuilt: dict[str, dict[str, Any]] = {}
    since, last_seq = 0, -1
    for _ in range(MAX_PAGES * 10):
        body = (await client.get(url, params={"since": since, "limit": limit})).json()
        if not body["changes"]:
            assert body["next_since"] == since == body["last_seq"]
            return rebuilt
        seqs = [c["seq"] for c in body["changes"]]
        assert seqs == sorted(set(seqs)) and seqs[0] > last_seq
        for change in body["changes"]:
            assert change["kind"] == ("delete" if change["event"]["deleted"] else "upsert")
            rebuilt.pop(change["event"]["id"], None)
            if change["kind"] == "upsert":
                rebuilt[change["event"]["id"]] = change["event"]
        since, last_seq = body["next_since"], seqs[-1]
    raise AssertionError("the replay did not end")


async def new_blog(app: Litestar, placing: dict[str, tuple[int, int]]) -> Blog:
    services: Services = app.state.services
    timeline = await services.store.create_timeline("Property")
    source = await services.store.add_source(timeline.id, "https://news.example/live", "wordpress")
    return Blog(services, source.id, timeline.id, placing)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(placing=placing, start=ops, walk_plan=walks, replay_limit=st.integers(1, 7))
async def test_cursor_walks_and_change_replay(
    app: Litestar,
    client: Client,
    placing: dict[str, tuple[int, int]],
    start: list[tuple[str, str | None]],
    walk_plan: tuple[Order, int, list[list[tuple[str, str | None]]]],
    replay_limit: int,
) -> None:
    order, limit, between = walk_plan
    blog = await new_blog(app, placing)
    await blog.apply(start)
    lived_through = set(blog.live)
    for batch in between:
        lived_through -= {uid for uid, body in batch if body is None}

    seen = await walk(client, blog, order, limit, between)

    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)), "an event was listed twice"
    keys = [sort_key(e) for e in seen]
    assert keys == sorted(keys, reverse=order == "desc"), "the walk left the timeline's order"
    assert lived_through <= {e["upstream_id"] for e in seen}, (
        "an event that lived through the walk was skipped"
    )

    # Quiet now: walks either way and the change replay all show exactly the live timeline.
    settled = await walk(client, blog, order, limit, [])
    assert {e["upstream_id"]: e["body_text"] for e in settled} == blog.live
    assert await walk_back(client, blog, order, limit) == settled
    assert await replay(client, blog, replay_limit) == {e["id"]: e for e in settled}
