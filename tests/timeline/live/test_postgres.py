"""Several processes on one PostgreSQL database with the `postgres` hub: two `timeline api` processes
serve streams while a `timeline worker` polls the blog and publishes what it wrote.

Clients on both API processes must see every change exactly once and in order, also after the hub's
connections were killed on the server (pg_terminate_backend): listeners reconnect and re-read by seq.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.timeline.api.support import AUTH
from tests.timeline.live.databases import hub_backends, terminate_hub_backends
from tests.timeline.live.processes import live_env, migrated, running, server
from tests.timeline.live.sse import WAIT, Stream, listen
from tests.upstream import GuardianBlog, Upstream, snapshot
from timeline.ids import event_id

pytestmark = pytest.mark.postgres

Change = tuple[str, str, str]  # (event kind, upstream id, body text); a deletion's text is ""


async def test_clients_on_two_api_processes_get_every_change_in_order_across_hub_reconnects(
    tmp_path: Path, postgres_url: str
) -> None:
    env = live_env(postgres_url, TIMELINE_HUB="postgres")
    await migrated(env)
    blog = GuardianBlog()
    for n in range(5):
        blog.post(f"b{n}", f"Update {n}", minute=n)
    expected: list[list[Change]] = [[("upsert", f"b{n}", f"Update {n}") for n in range(5)]]

    async with (
        Upstream(routes={"/blog": snapshot(blog.render)}) as upstream,
        server("api", env, tmp_path / "api-1.log") as one,
        server("api", env, tmp_path / "api-2.log") as two,
        httpx.AsyncClient(base_url=one.url, headers=AUTH) as http,
    ):
        slug = (await http.post("/api/v1/timelines", json={"title": "Election night"})).json()["slug"]
        async with listen(one.url, slug, since=0) as a, listen(two.url, slug, since=0) as b:
            added = await http.post(f"/api/v1/timelines/{slug}/sources", json={"url": upstream.url("/blog")})
            assert added.json()["first_poll"] == {"new": 5, "updated": 0, "deleted": 0}
            source = added.json()["id"]
            await _received(expected, source, a, b)

            async with running(["worker"], env, tmp_path / "worker.log"):
                expected.append(_change_blog(blog, round_=1))
                await _received(expected, source, a, b)
                listeners = await hub_backends(postgres_url, "listener")
                assert len(listeners) == 3  # one per API process, and the worker's (its webhook deliverer's)
                killed = await terminate_hub_backends(postgres_url)
                assert set(listeners) <= killed

                for round_ in (2, 3):
                    expected.append(_change_blog(blog, round_))
                    await _received(expected, source, a, b)
                await _until_listeners_replaced(postgres_url, listeners)
                expected.append(_change_blog(blog, round_=4))
                await _received(expected, source, a, b)

        assert a.messages == b.messages
        for api in (one, two):
            assert "hub listener reconnected" in api.output()
        final = await http.get(f"/api/v1/timelines/{slug}/events", params={"order": "asc", "limit": 200})
        assert {e["upstream_id"]: e["body_text"] for e in final.json()["events"]} == blog.texts()


def _change_blog(blog: GuardianBlog, round_: int) -> list[Change]:
    """Two posts, an edit and a deletion, of different blocks: four changes in the next poll."""
    first, second = f"r{round_}a", f"r{round_}b"
    blog.post(first, f"Round {round_} first", minute=10 * round_)
    blog.post(second, f"Round {round_} second", minute=10 * round_ + 1)
    edited, gone = f"b{round_ - 1}", f"r{round_ - 1}a" if round_ > 1 else "b4"
    blog.edit(edited, f"Update {round_ - 1}, corrected")
    blog.delete(gone)
    return [
        ("upsert", first, f"Round {round_} first"),
        ("upsert", second, f"Round {round_} second"),
        ("upsert", edited, f"Update {round_ - 1}, corrected"),
        ("delete", gone, ""),
    ]


async def _received(expected: list[list[Change]], source_id: str, *clients: Stream) -> None:
    """Each client has every expected change once, the rounds in order, seqs strictly increasing."""
    count = sum(len(changes) for changes in expected)
    upstream_ids = {event_id(source_id, c[1]): c[1] for changes in expected for c in changes}
    for client in clients:
        messages = await client.until_count(count)
        assert len(client.messages) == count, client.seqs  # nothing more
        seqs = [m.seq for m in messages]
        assert seqs == sorted(set(seqs)), seqs
        got = [_change(m.json(), m.event, upstream_ids) for m in messages]
        start = 0
        for changes in expected:  # within one poll the store orders changes its own way
            assert sorted(got[start : start + len(changes)]) == sorted(changes)
            start += len(changes)


def _change(event: dict[str, Any], kind: str, upstream_ids: dict[str, str]) -> Change:
    """A frame as a `Change`: a deletion carries no content, so its upstream id comes from its event id."""
    if kind == "delete":
        return (kind, upstream_ids[event["id"]], "")
    return (kind, event["upstream_id"], event["body_text"])


async def _until_listeners_replaced(url: str, old: list[int]) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            now = await hub_backends(url, "listener")
            if len(now) == len(old) and not set(now) & set(old):
                return
            await asyncio.sleep(0.1)
