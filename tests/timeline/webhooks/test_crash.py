"""Nothing is lost to a crash, and no subscription is delivered to by two processes at once."""

from __future__ import annotations

import itertools
import signal
from pathlib import Path

import pytest

from tests.timeline.live.processes import live_env, migrated, running
from tests.timeline.live.writer import writing
from tests.timeline.webhooks.harness import (
    QUICK,
    final_changes,
    receiver,
    seqs,
    subscribe,
    unpolled,
    verified,
)

# Leases short enough that a killed worker's subscriptions are taken over within seconds.
SHORT_LEASES = {**QUICK, "TIMELINE_WEBHOOK_LEASE_SECONDS": "3"}


async def test_a_worker_killed_mid_burst_loses_nothing_after_restart(tmp_path: Path, sqlite_url: str) -> None:
    env = live_env(sqlite_url, **SHORT_LEASES)
    async with receiver(tmp_path) as rx, writing(sqlite_url) as writer:
        start = await unpolled(writer)
        await subscribe(writer, rx, "a", script=[[200, 0.005]])
        await subscribe(writer, rx, "b")
        async with running(["worker"], env, tmp_path / "first.log") as first:
            for n in range(150):
                await writer.post(f"e{n % 100}", f"Update {n}")
            await rx.until("a", lambda r: len(r) >= 20)
            await first.stop(signal.SIGKILL)
        before = len(verified(await rx.received("a")))
        for n in range(150, 200):
            await writer.post(f"e{n % 100}", f"Update {n}")
        final = await final_changes(writer, start)
        assert before < len(final), "killed mid-burst"

        async with running(["worker"], env, tmp_path / "second.log"):
            for name in ("a", "b"):
                await rx.until(name, lambda r: set(final) <= set(seqs(verified(r))))
        for name in ("a", "b"):
            got = verified(await rx.received(name))
            assert seqs(got) == sorted(seqs(got)), "in seq order, each webhook-id once"
            assert {r["seq"]: r["event"] for r in got if r["seq"] in final} == final


@pytest.mark.postgres
async def test_two_workers_on_postgres_never_deliver_to_one_subscription_at_once(
    tmp_path: Path, postgres_url: str
) -> None:
    env = live_env(postgres_url, TIMELINE_HUB="postgres", **QUICK)
    await migrated(env)
    names = [f"s{n}" for n in range(6)]
    async with receiver(tmp_path) as rx, writing(postgres_url) as writer:
        start = await unpolled(writer)
        for name in names:
            await subscribe(writer, rx, name, script=[[200, 0.01]])
        async with (
            running(["worker"], env, tmp_path / "one.log"),
            running(["worker"], env, tmp_path / "two.log"),
        ):
            for n in range(60):
                await writer.post(f"e{n % 25}", f"Update {n}")
            final = await final_changes(writer, start)
            for name in names:
                await rx.until(name, lambda r: set(final) <= set(seqs(verified(r))))

        for name in names:
            received = await rx.received(name)
            assert len(received) == len(verified(received)), "no change sent twice"
            assert seqs(received) == sorted(seqs(received))
            spans = sorted((r["started"], r["ended"]) for r in received)
            overlaps = [(a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1]]
            assert overlaps == [], f"{name} got two deliveries at once"
