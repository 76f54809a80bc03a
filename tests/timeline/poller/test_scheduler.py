"""The poller loop: limits per process and host, pollers side by side on one database, APScheduler wiring."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from feeds.fetch import Fetcher
from tests.timeline.poller.conftest import LOCAL, SCHEDULE, FakeClock, Rig, pipeline, poller_settings
from tests.upstream import GuardianBlog, Upstream, delayed, hang, snapshot
from timeline.poller import ParsePool
from timeline.poller.scheduler import Poller, PollerSettings
from timeline.store import Store, migrate

LATENCY = 0.03  # seconds each upstream answer takes, so requests that could overlap do


def blog(name: str) -> GuardianBlog:
    live = GuardianBlog(name)
    live.post(f"{name}-1", f"{name} opens", minute=0)
    return live


async def test_the_per_host_limit_is_never_exceeded(rig: Rig) -> None:
    async with Upstream() as elsewhere:
        for n in range(8):
            await rig.add(f"/a{n}", delayed(snapshot(blog(f"a{n}").render), LATENCY), "guardian")
        for n in range(4):
            await rig.add(
                f"/b{n}", delayed(snapshot(blog(f"b{n}").render), LATENCY), "guardian", upstream=elsewhere
            )

        assert await rig.poll() == 12

        # Both hosts at once, each never past its limit (and reaching it: the limit is what held them).
        assert (rig.upstream.max_overlap(), elsewhere.max_overlap()) == (2, 2)
        assert [e.status for e in rig.upstream.served() + elsewhere.served()] == [200] * 12
    assert len(await rig.events()) == 12


@pytest.mark.parametrize("settings", [poller_settings(concurrency=3)])
async def test_a_poller_claims_no_more_than_it_can_poll(rig: Rig) -> None:
    for n in range(5):
        await rig.add(f"/s{n}", delayed(snapshot(blog(f"s{n}").render), LATENCY), "guardian")

    assert await rig.poller.tick() == 3
    assert await rig.poller.tick() == 0  # all three still running
    await rig.poller.drain()
    assert await rig.poller.tick() == 2
    await rig.poller.drain()

    assert sorted(len(rig.upstream.served(f"/s{n}")) for n in range(5)) == [1] * 5
    assert len(await rig.events()) == 5


class Side:
    """One poller process: its own store connection pool, fetcher and poller, on the shared database."""

    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        pool: ParsePool,
        clock: FakeClock,
        settings: PollerSettings,
        seed: int,
    ) -> None:
        self.store = store
        polls = pipeline(
            store, fetcher, pool, clock=clock, schedule=settings.schedule, rng=random.Random(seed)
        )
        self.poller = Poller(store, polls, settings, clock=clock)
        self.claimed = 0

    async def tick(self) -> int:
        claimed = await self.poller.tick()
        self.claimed += claimed
        return claimed


@pytest.fixture
async def sides(db_url: str, parse_pool: ParsePool) -> AsyncIterator[tuple[Side, Side]]:
    await migrate(db_url)
    clock = FakeClock()
    settings = poller_settings(concurrency=25, per_host=4)
    async with AsyncExitStack() as stack:
        made = []
        for seed in (1, 2):
            store = await stack.enter_async_context(await Store.open(db_url))
            fetcher = await stack.enter_async_context(Fetcher(LOCAL))
            made.append(Side(store, fetcher, parse_pool, clock, settings, seed))
        yield made[0], made[1]
        await asyncio.gather(*(side.poller.drain() for side in made))


async def test_two_pollers_on_one_database_never_poll_a_source_twice_at_once(
    sides: tuple[Side, Side],
) -> None:
    """60 sources on 3 hosts, two pollers ticking over each other for 3 rounds: each source is requested
    exactly once per round and never twice at the same time."""
    first, second = sides
    clock = first.poller._clock
    assert isinstance(clock, FakeClock)
    jitter = random.Random(7)
    async with AsyncExitStack() as stack:
        hosts = [await stack.enter_async_context(Upstream()) for _ in range(3)]
        timeline = await first.store.create_timeline("Side by side", now=clock())
        blogs: dict[str, GuardianBlog] = {}
        for n in range(60):
            host, name = hosts[n % 3], f"s{n}"
            blogs[name] = blog(name)
            host.routes[f"/{name}"] = delayed(snapshot(blogs[name].render), jitter.uniform(0, LATENCY))
            await first.store.add_source(timeline.id, host.url(f"/{name}"), "guardian", now=clock())

        rounds = 3
        for round_ in range(rounds):
            for n, live in enumerate(blogs.values()):
                if n % 3 == round_:
                    live.post(f"{live.title}-r{round_}", f"round {round_}", minute=10 + round_)
            await _poll_round(first, second)
            clock.advance(SCHEDULE.max_interval * (1 + SCHEDULE.jitter))

        for host in hosts:
            for path in {e.request.path for e in host.served()}:
                assert len(host.served(path)) == rounds, path
                assert host.max_overlap(path) == 1, path
        assert first.claimed > 0 and second.claimed > 0
        assert first.claimed + second.claimed == 60 * rounds

    changes = await first.store.changes(timeline.id, since=0, limit=1000)
    shown = {c.event.upstream_id for c in changes if not c.event.deleted}
    assert shown == {block for live in blogs.values() for block in live.blocks}


async def _poll_round(*sides: Side) -> None:
    """Every side ticks over and over while the others' polls run, until nothing is due."""
    while True:
        claimed = 0
        for _ in range(5):
            claimed += sum(await asyncio.gather(*(side.tick() for side in sides)))
            await asyncio.sleep(LATENCY / 3)
        await asyncio.gather(*(side.poller.drain() for side in sides))
        if claimed == 0:
            return


async def test_the_scheduler_polls_on_its_own_and_stop_releases_leases(
    store: Store, upstream: Upstream, parse_pool: ParsePool
) -> None:
    """The real APScheduler loop and clock; a poll stuck at `stop()` is cancelled and its lease freed."""
    timeline = await store.create_timeline("Scheduled")
    upstream.routes["/blog"] = snapshot(blog("b").render)
    upstream.routes["/stuck"] = hang()
    ids = {
        path: (await store.add_source(timeline.id, upstream.url(path), "guardian")).id
        for path in upstream.routes
    }
    async with Fetcher(LOCAL) as fetcher:
        polls = pipeline(store, fetcher, parse_pool)
        poller = Poller(store, polls, PollerSettings(SCHEDULE, claim_every=0.05))
        poller.start()
        try:
            for _ in range(250):  # at most 5 s
                if upstream.served("/stuck") and (await store.get_source(ids["/blog"])).health.status == "ok":
                    break
                await asyncio.sleep(0.02)
            assert (await store.get_poll_state(ids["/stuck"])).lease_owner == poller.owner
        finally:
            await poller.stop(grace=0.05)

    states = {path: await store.get_poll_state(ident) for path, ident in ids.items()}
    assert all((s.lease_owner, s.lease_until) == (None, None) for s in states.values())
    assert states["/blog"].status == "ok"
    assert states["/stuck"].status == "new"  # cancelled, not failed: due again for the next poller
    assert len(upstream.served("/blog")) == 1
    assert (await store.timeline_seq(timeline.id))[1] == 1


async def test_a_backlog_is_claimed_as_polls_finish_not_once_per_claim_interval(
    store: Store, upstream: Upstream, parse_pool: ParsePool
) -> None:
    """Six due sources, room for two polls at a time, and a claim job that would only come back in a
    minute: finished polls wake the claimer, so all six are polled without waiting for it."""
    timeline = await store.create_timeline("Backlog")
    ids = []
    for n in range(6):
        upstream.routes[f"/s{n}"] = delayed(snapshot(blog(f"s{n}").render), LATENCY)
        ids.append((await store.add_source(timeline.id, upstream.url(f"/s{n}"), "guardian")).id)
    settings = PollerSettings(SCHEDULE, concurrency=2, claim_every=60.0)
    async with Fetcher(LOCAL) as fetcher:
        poller = Poller(store, pipeline(store, fetcher, parse_pool), settings)
        poller.start()
        try:
            for _ in range(250):  # at most 5 s
                if len(upstream.served()) == 6:
                    break
                await asyncio.sleep(0.02)
        finally:
            await poller.stop()

    assert sorted(e.request.path for e in upstream.served()) == [f"/s{n}" for n in range(6)]
    assert [(await store.get_poll_state(ident)).status for ident in ids] == ["ok"] * 6


async def test_stopping_during_a_claim_waits_for_it_and_logs_no_error(
    store: Store, sqlite_url: str, upstream: Upstream, caplog: pytest.LogCaptureFixture, parse_pool: ParsePool
) -> None:
    """Another process holds SQLite's write lock, so the first claim waits; `stop()` comes meanwhile.
    The claim is not cancelled half-way (APScheduler used to log that as a failed job): it completes,
    its source is polled, its state saved and its lease released."""
    timeline = await store.create_timeline("Stopping")
    upstream.routes["/blog"] = snapshot(blog("b").render)
    source = await store.add_source(timeline.id, upstream.url("/blog"), "guardian")
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
    async with Fetcher(LOCAL) as fetcher:
        polls = pipeline(store, fetcher, parse_pool)
        poller = Poller(store, polls, PollerSettings(SCHEDULE, claim_every=0.05))
        writer.execute("BEGIN IMMEDIATE")
        try:
            poller.start()
            await asyncio.sleep(0.2)  # the claim is waiting for the lock
            stopping = asyncio.create_task(poller.stop())
            await asyncio.sleep(0.1)
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        await stopping

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    state = await store.get_poll_state(source.id)
    assert (state.status, state.lease_owner) == ("ok", None)
    assert len(upstream.served("/blog")) == 1
