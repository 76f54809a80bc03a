"""Concurrent writers: seqs are unique, gapless, and become visible in commit order."""

from __future__ import annotations

import asyncio
import itertools

from timeline.models import Source, Timeline
from timeline.store import Store

from .drafts import T0, draft

ROUNDS = 15


async def _write(store: Store, source: Source) -> None:
    for n in range(ROUNDS):
        batch = [draft(source.id, f"{n}-{k}") for k in range(1 + n % 3)]
        await store.apply(source.id, batch, complete=False, now=T0)


async def _watch(store: Store, timeline: Timeline, done: asyncio.Event) -> list[set[int]]:
    """The seqs visible to a reader, observation after observation, until the writers are done."""
    seen: list[set[int]] = []
    while not done.is_set():
        seen.append({c.seq for c in await store.changes(timeline.id, since=0, limit=10_000)})
        await asyncio.sleep(0)
    return seen


async def _race(
    writers: list[Store], reader: Store, timeline: Timeline, sources: list[Source]
) -> list[set[int]]:
    done = asyncio.Event()
    watching = asyncio.create_task(_watch(reader, timeline, done))
    await asyncio.gather(*(_write(store, src) for store, src in zip(writers, sources, strict=True)))
    done.set()
    return await watching


async def test_two_tasks_and_two_connections(store: Store, db_url: str, timeline: Timeline) -> None:
    sources = [await store.add_source(timeline.id, f"https://news.example/{n}", "auto") for n in range(4)]
    async with await Store.open(db_url) as second, await Store.open(db_url) as reader:
        # Tasks 1 and 2 share `store` (and its pool); tasks 3 and 4 use another engine: more connections.
        observations = await _race([store, store, second, second], reader, timeline, sources)
    final = {c.seq for c in await store.changes(timeline.id, since=0, limit=10_000)}
    expected_total = 4 * sum(1 + n % 3 for n in range(ROUNDS))
    assert final == set(range(1, expected_total + 1))
    assert (await store.get_timeline(timeline.id)).last_seq == expected_total
    for earlier, later in itertools.pairwise(observations):
        assert earlier <= later
        # A seq never becomes visible after a larger one did.
        assert not earlier or all(seq > max(earlier) for seq in later - earlier)


async def test_concurrent_applies_of_one_source_apply_once(store: Store, db_url: str, source: Source) -> None:
    drafts = [draft(source.id, str(n)) for n in range(20)]
    async with await Store.open(db_url) as second:
        results = await asyncio.gather(
            *(s.apply(source.id, drafts, complete=True, now=T0) for s in (store, second, store, second))
        )
    assert sorted(r.new for r in results) == [0, 0, 0, 20]
    assert {r.last_seq for r in results} == {20}
