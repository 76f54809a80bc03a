"""Poll states are saved in batches: one transaction for many polls, the lease held until the state is
written, and nothing left unsaved at shutdown."""

from __future__ import annotations

import asyncio

import pytest

from feeds.fetch import Fetcher
from tests.timeline.poller.conftest import LOCAL, SCHEDULE, Rig, pipeline, written_tables
from tests.upstream import GuardianBlog, Upstream, etag_of, snapshot
from timeline.poller import ParsePool
from timeline.poller.scheduler import Poller, PollerSettings
from timeline.store import Store

NEVER = 3600.0  # seconds: states wait for `drain()` or `stop()`, never for the timer


def blog(name: str) -> GuardianBlog:
    live = GuardianBlog(name)
    live.post(f"{name}-1", f"{name} opens", minute=0)
    return live


@pytest.mark.parametrize("settings", [PollerSettings(SCHEDULE, save_every=NEVER)])
async def test_a_round_of_polls_costs_one_claim_and_one_save(rig: Rig) -> None:
    for n in range(6):
        await rig.add(f"/s{n}", snapshot(blog(f"s{n}").render), "guardian")
    assert await rig.poll() == 6

    with written_tables(rig.store) as written:
        assert await rig.poll(after=SCHEDULE.base_interval * (1 + SCHEDULE.jitter)) == 6

    assert [e.status for e in rig.upstream.served()] == [200] * 6 + [304] * 6
    assert written == ["sources", "sources"]  # the claim, then every state in one statement
    for n in range(6):
        health = (await rig.source(f"/s{n}")).health
        assert health.status == "ok" and health.next_poll_at is not None
        assert health.next_poll_at > rig.clock()


async def test_a_lease_is_held_until_the_state_is_saved_and_stop_saves_it(
    store: Store, upstream: Upstream, parse_pool: ParsePool
) -> None:
    timeline = await store.create_timeline("Write-behind")
    live = blog("b")
    upstream.routes["/blog"] = snapshot(live.render)
    source = await store.add_source(timeline.id, upstream.url("/blog"), "guardian")
    settings = PollerSettings(SCHEDULE, claim_every=0.05, save_every=NEVER)
    async with Fetcher(LOCAL) as fetcher:
        poller = Poller(store, pipeline(store, fetcher, parse_pool), settings)
        other = Poller(store, pipeline(store, fetcher, parse_pool), settings)
        poller.start()
        try:
            for _ in range(250):  # at most 5 s
                if (await store.timeline_seq(timeline.id))[1] == 1:
                    break
                await asyncio.sleep(0.02)
            # Polled and applied, its state not written yet: still ours, so no other poller takes it.
            held = await store.get_poll_state(source.id)
            assert (held.status, held.lease_owner) == ("new", poller.owner)
            assert await other.tick() == 0
        finally:
            await poller.stop()

    saved = await store.get_poll_state(source.id)
    assert (saved.status, saved.lease_owner, saved.etag) == ("ok", None, etag_of(live.render()))
    assert len(upstream.served("/blog")) == 1
