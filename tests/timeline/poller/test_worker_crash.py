"""A `timeline worker` process killed with SIGKILL in the middle of a poll loses nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from feeds.fetch import Fetcher
from tests.timeline.poller.conftest import LOCAL, FakeClock, pipeline, poller_settings
from tests.upstream import GuardianBlog, Upstream, drip, script, snapshot
from timeline.poller import ParsePool
from timeline.poller.scheduler import Poller
from timeline.store import Store, migrate

LEASE = 5.0  # the worker's lease in seconds; only the fake clock waits it out


def worker_env(db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "TIMELINE_DATABASE_URL": db_url,
        "TIMELINE_ALLOW_PRIVATE_SOURCES": "1",
        "TIMELINE_RESPECT_ROBOTS": "0",
        "TIMELINE_POLL_INTERVAL": "60",
        "TIMELINE_POLL_MIN_INTERVAL": "10",
        "TIMELINE_POLL_LEASE_SECONDS": str(LEASE),
        "TIMELINE_FETCH_TIMEOUT": "60",  # the dripping answer must not time out before the kill
    }


def guardian(name: str, posts: int) -> GuardianBlog:
    blog = GuardianBlog(name)
    for n in range(posts):
        blog.post(f"{name}-{n}", f"{name} update {n}", minute=n)
    return blog


async def shown(store: Store, timeline_id: str) -> dict[str, str]:
    changes = await store.changes(timeline_id, since=0, limit=1000)
    return {c.event.upstream_id: c.event.body_text for c in changes if not c.event.deleted}


async def test_a_worker_killed_mid_poll_loses_nothing(
    db_url: str, tmp_path: Path, parse_pool: ParsePool
) -> None:
    await migrate(db_url)
    quick, slow = guardian("quick", 3), guardian("slow", 4)
    async with await Store.open(db_url) as store, Upstream() as upstream:
        upstream.routes["/quick"] = snapshot(quick.render)
        # The worker's request gets its answer one byte every 0.2 s; later requests get the whole blog.
        upstream.routes["/slow"] = script(drip(slow.render(), every=0.2), snapshot(slow.render))
        timeline = await store.create_timeline("Crash course")
        ids = {
            path: (await store.add_source(timeline.id, upstream.url(path), "guardian")).id
            for path in upstream.routes
        }

        log = tmp_path / "worker.log"
        with log.open("wb") as stderr:
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "timeline", "worker", env=worker_env(db_url), stderr=stderr
            )
            try:
                await _until_mid_poll(store, upstream, ids["/quick"], log)
            finally:
                worker.kill()  # SIGKILL: no cleanup, no lease released
                await worker.wait()

        # The finished poll stayed committed; the interrupted one left nothing behind but its lease.
        assert await shown(store, timeline.id) == quick.texts()
        held = await store.get_poll_state(ids["/slow"])
        assert held.lease_owner is not None and held.status == "new"

        slow.post("slow-late", "posted while nobody polled", minute=30)
        slow.edit("slow-0", "slow update 0, corrected")
        clock = FakeClock(datetime.now(UTC))
        async with Fetcher(LOCAL) as fetcher:
            polls = pipeline(store, fetcher, parse_pool, clock=clock)
            resumer = Poller(store, polls, poller_settings(), clock=clock)
            assert await resumer.tick() == 0  # the lease still holds
            clock.advance(LEASE + 1)
            assert await resumer.tick() == 1  # expired: taken over (the quick source is not due yet)
            await resumer.drain()

        assert await shown(store, timeline.id) == {**quick.texts(), **slow.texts()}
        for ident in ids.values():
            state = await store.get_poll_state(ident)
            assert (state.status, state.lease_owner) == ("ok", None)
        assert len(upstream.served("/slow")) == 2


async def _until_mid_poll(store: Store, upstream: Upstream, quick_id: str, log: Path) -> None:
    """Wait (seconds at most) until the worker has polled the quick source and is stuck in the slow one."""
    for _ in range(300):
        done = (await store.get_source(quick_id)).health.status == "ok"
        if done and upstream.served("/slow"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the worker never got mid-poll; its log:\n{log.read_text()}")
