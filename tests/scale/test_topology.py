"""The docker-compose topology as processes, on the real PostgreSQL, under faults.

Two `timeline api` and three `timeline worker` processes share a database of their own. A local upstream
serves 1,000 live blogs over four timelines that change throughout the run (posts, edits, deletions), and
SSE clients follow every timeline on both APIs. Mid-run one worker and then one API process get SIGKILL;
the API's clients resume on the other API with Last-Event-ID, and a replacement API starts (as compose's
restart policy would). In the end:

- the upstream saw no two fetches of one source at once, and every source fetched at least once per
  interval (plus the lease a dead worker held, plus slack for a shared two-core machine);
- every timeline holds exactly the blogs' final state, edits and deletions included, and both live APIs
  replay identical `changes`;
- every SSE client got each change it was due exactly once, in seq order, across its reconnects;
- after a graceful stop no source is still leased.
"""

from __future__ import annotations

import asyncio
import signal
import time
from contextlib import AsyncExitStack
from itertools import pairwise
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from tests.postgres import new_postgres_database
from tests.scale.clients import Follower, Seen, eventually, latest, replay
from tests.scale.newsroom import Newsroom
from tests.timeline.live.processes import Process, live_env, migrated, running, server
from tests.upstream import Upstream, max_overlap
from timeline.hub.postgres import asyncpg_dsn
from timeline.ids import event_id
from timeline.store import Store

pytestmark = [pytest.mark.scale, pytest.mark.postgres]

SOURCES, TIMELINES = 1000, 4
INTERVAL = 20.0  # TIMELINE_POLL_INTERVAL = _MIN_ = _MAX_: each source every 20–22 s (jitter is +10 %)
LEASE = 10.0  # TIMELINE_POLL_LEASE_SECONDS: how long a killed worker's sources wait
# Beyond interval + lease: a claim tick, the queue behind the per-host limit, and a busy shared machine.
SLACK = 15.0
ROUNDS, ROUND_EVERY, CHANGES_PER_ROUND = 25, 2.0, 30
KILL_WORKER_AT, KILL_API_AT = 8, 14  # rounds
CONVERGE_WAIT = 4 * INTERVAL  # for the last changes to be polled and streamed: generous


def _env(url: str) -> dict[str, str]:
    seconds = f"{INTERVAL:g}"
    return live_env(
        url,
        TIMELINE_HUB="postgres",
        TIMELINE_POLL_INTERVAL=seconds,
        TIMELINE_POLL_MIN_INTERVAL=seconds,
        TIMELINE_POLL_MAX_INTERVAL=seconds,
        TIMELINE_POLL_LEASE_SECONDS=f"{LEASE:g}",
        TIMELINE_POLL_PER_HOST="8",  # one upstream host serves every source here
        TIMELINE_DB_POOL_SIZE="3",  # 5 processes × (3 + 5 + hub) stay well under max_connections
        TIMELINE_DB_MAX_OVERFLOW="5",
    )


async def test_two_apis_and_three_workers_survive_a_killed_worker_and_a_killed_api(tmp_path: Path) -> None:
    async with new_postgres_database() as url:
        env = _env(url)
        await migrated(env)
        async with Upstream() as upstream, AsyncExitStack() as stack:
            newsroom = Newsroom(upstream, timelines=TIMELINES, sources=SOURCES)
            timeline_ids = await _create_timelines(url, newsroom)
            apis = [
                await stack.enter_async_context(server("api", env, tmp_path / f"api-{n}.log")) for n in (1, 2)
            ]
            workers = [
                await stack.enter_async_context(running(["worker"], env, tmp_path / f"worker-{n}.log"))
                for n in (1, 2, 3)
            ]
            followers = [
                await stack.enter_async_context(Follower(api.url, slug))
                for api in apis
                for slug in newsroom.slugs
            ]
            started = time.monotonic()
            paths = await _add_sources(url, upstream, newsroom, timeline_ids)

            for round_ in range(ROUNDS):
                newsroom.change(CHANGES_PER_ROUND, round_)
                if round_ == KILL_WORKER_AT:
                    await workers[0].stop(signal.SIGKILL)
                if round_ == KILL_API_AT:
                    apis[0] = await _kill_and_replace(apis[0], apis[1], followers, stack, env, tmp_path)
                await asyncio.sleep(ROUND_EVERY)

            final = await _converged(apis, newsroom, paths)
            ended = time.monotonic()
            for follower in followers:
                await follower.until_seq(max(c.seq for c in final[follower.slug]))

            _assert_polite_and_punctual(upstream, started, ended)
            for follower in followers:
                _assert_each_change_once(follower, final[follower.slug])
            moved = [f for f in followers if f.segments[0][0] != f.segments[-1][0]]
            assert len(moved) == TIMELINES and all(f.segments[-1][0] == apis[1].url for f in moved)
        assert await _leased(url) == 0, "a graceful stop releases every lease"


async def _create_timelines(url: str, newsroom: Newsroom) -> dict[str, str]:
    async with await Store.open(url) as store:
        return {slug: (await store.create_timeline(slug, slug=slug)).id for slug in newsroom.slugs}


async def _add_sources(
    url: str, upstream: Upstream, newsroom: Newsroom, timeline_ids: dict[str, str]
) -> dict[str, str]:
    """Every blog as a source of its timeline (due at once); source id → upstream path."""
    async with await Store.open(url) as store:
        added = {}
        for blog in newsroom.blogs:
            source = await store.add_source(timeline_ids[blog.timeline], upstream.url(blog.path), "guardian")
            added[source.id] = blog.path
        return added


async def _kill_and_replace(
    doomed: Process,
    survivor: Process,
    followers: list[Follower],
    stack: AsyncExitStack,
    env: dict[str, str],
    tmp_path: Path,
) -> Process:
    """SIGKILL `doomed`; its clients resume on `survivor`; a new API process takes its place."""
    for follower in followers:
        if follower.base == doomed.url:
            follower.base = survivor.url
    await doomed.stop(signal.SIGKILL)
    return await stack.enter_async_context(server("api", env, tmp_path / "api-3.log"))


async def _converged(apis: list[Process], newsroom: Newsroom, paths: dict[str, str]) -> dict[str, list[Seen]]:
    """Wait until both APIs replay the blogs' final state; then the replays (identical on both)."""
    final: dict[str, list[Seen]] = {}

    async def done() -> bool:
        async with (
            httpx.AsyncClient(base_url=apis[0].url) as one,
            httpx.AsyncClient(base_url=apis[1].url) as two,
        ):
            for slug in newsroom.slugs:
                replays = [await replay(one, slug), await replay(two, slug)]
                if replays[0] != replays[1] or not _matches(replays[0], *newsroom.expected(slug), paths):
                    return False
                final[slug] = replays[0]
        return True

    await eventually(done, "final state of every timeline on both APIs", timeout=CONVERGE_WAIT)
    return final


def _matches(
    changes: list[Seen], live: dict[tuple[str, str], str], gone: set[tuple[str, str]], paths: dict[str, str]
) -> bool:
    """Each live block once with its latest text; each deleted block, if it was ever stored, a tombstone
    (known by its event id alone: a deletion carries no content)."""
    events = latest(changes)
    if len(events) != len(changes):
        return False  # `changes` lists every event once, at its latest seq
    upserts = [e for e in events.values() if e.kind == "upsert"]
    live_now = {(paths[e.source_id or ""], e.upstream_id): e.body_text for e in upserts}
    sources = {path: source_id for source_id, path in paths.items()}
    gone_ids = {event_id(sources[path], upstream_id) for path, upstream_id in gone}
    tombstones = {e.event_id for e in events.values() if e.kind == "delete"}
    return live_now == live and tombstones <= gone_ids and len(live_now) == len(upserts)


def _assert_polite_and_punctual(upstream: Upstream, started: float, ended: float) -> None:
    bound = INTERVAL * 1.1 + LEASE + SLACK
    late: dict[str, float] = {}
    for path in upstream.routes:
        exchanges = upstream.served(path)
        assert max_overlap(exchanges) == 1, f"{path} was fetched twice at once"
        starts = [started, *(e.started for e in exchanges), ended]
        worst = max(b - a for a, b in pairwise(starts))
        if worst > bound:
            late[path] = worst
    assert not late, (
        f"{len(late)} sources went longer than {bound} s without a poll: {sorted(late.items())[:5]}"
    )


def _assert_each_change_once(follower: Follower, final: list[Seen]) -> None:
    got = follower.seen()
    seqs = [c.seq for c in got]
    assert seqs == sorted(set(seqs)), f"{follower.slug}: duplicate or out-of-order seqs across reconnects"
    assert set(final) <= set(got), f"{follower.slug}: missed {sorted(set(final) - set(got), key=str)[:3]}"
    assert latest(got) == latest(final)


async def _leased(url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=5)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM sources WHERE lease_owner IS NOT NULL")
        return count
    finally:
        await conn.close()
