"""Re-polls cost what changed: the parse worker normalizes only updates whose raw hash the store does not
hold, and the store writes nothing for the others, while still counting them as listed.

Each test polls a live blog through the real pipeline (parse worker, store on SQLite and PostgreSQL), its
documents handed in as `timeline ingest FILE` does, and reads what the worker answered from the reader.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from feeds.adapters import parse
from feeds.fetch import Fetcher, FetchResult
from tests.timeline.poller.conftest import LOCAL, CountingReader, FakeClock, written_tables
from tests.upstream import GuardianBlog
from timeline.models import Source
from timeline.normalize import normalize
from timeline.poller import ParsePool, Pipeline
from timeline.poller.parsing import Parsed
from timeline.store import ApplyResult, Store, migrate

URL = "https://news.example/world/live/2024/may/01/election-live"
BLOCKS = 5
RAW_HASH = importlib.import_module(
    "timeline.normalize.raw_hash"
)  # the module; the package exports the function


@dataclass
class Polls:
    store: Store
    reader: CountingReader
    pipeline: Pipeline
    source: Source
    clock: FakeClock
    blog: GuardianBlog

    async def poll(self) -> ApplyResult:
        """One poll of the blog as it is now, a minute after the last."""
        self.clock.advance(60)
        body = self.blog.render()
        fetched = FetchResult(URL, URL, 200, body, "application/json", None, None, None, None, False)
        return await self.pipeline.poll_now(self.source.id, fetched=fetched)

    @property
    def last(self) -> Parsed:
        return self.reader.parsed[-1]

    def normalized(self) -> list[str]:
        """The upstream ids the last poll's worker normalized."""
        return [draft.upstream_id for draft in self.last.drafts]

    async def revisions(self) -> dict[str, tuple[int, bool]]:
        """Upstream id → (revision, deleted) of every event, tombstones included."""
        changes = await self.store.changes(self.source.timeline_id, since=0, limit=1_000)
        events = [await self.store.full_event(self.source.timeline_id, c.event.id) for c in changes]
        return {event.upstream_id: (event.revision, event.deleted) for event in events}

    async def last_seq(self) -> int:
        return (await self.store.timeline_seq(self.source.timeline_id))[1]


@pytest.fixture
async def polls(db_url: str, parse_pool: ParsePool) -> AsyncIterator[Polls]:
    await migrate(db_url)
    clock = FakeClock(datetime(2024, 5, 1, 18, 0, tzinfo=UTC))
    async with await Store.open(db_url) as store, Fetcher(LOCAL) as fetcher:
        reader = CountingReader(fetcher, parse_pool)
        pipeline = Pipeline(store, reader, clock=clock)
        timeline = await store.create_timeline("Election night", now=clock())
        source = await store.add_source(timeline.id, URL, "guardian", now=clock())
        blog = GuardianBlog()
        for n in range(BLOCKS):
            blog.post(f"b{n}", f"Update {n}", minute=n)
        polls = Polls(store, reader, pipeline, source, clock, blog)
        await polls.poll()
        yield polls


async def test_the_first_poll_normalizes_every_update(polls: Polls) -> None:
    assert sorted(polls.normalized()) == [f"b{n}" for n in range(BLOCKS)] and polls.last.seen == []
    assert await polls.store.raw_hashes(polls.source.id) == {d.raw_hash for d in polls.last.drafts}


async def test_a_new_update_is_the_only_one_normalized_and_written(polls: Polls) -> None:
    seq = await polls.last_seq()
    polls.blog.post("b-new", "Polls close", minute=30)

    applied = await polls.poll()

    assert polls.normalized() == ["b-new"] and len(polls.last.seen) == BLOCKS
    assert (applied.new, applied.updated, applied.deleted) == (1, 0, 0)
    assert await polls.last_seq() == seq + 1
    assert set((await polls.revisions()).values()) == {(1, False)}


async def test_new_bytes_with_unchanged_updates_normalize_and_write_nothing(polls: Polls) -> None:
    seq = await polls.last_seq()
    polls.blog.title = "Election night – live, renamed"  # the document changes, none of its updates

    with written_tables(polls.store) as written:
        applied = await polls.poll()

    assert polls.normalized() == [] and len(polls.last.seen) == BLOCKS
    assert applied.changed == 0 and await polls.last_seq() == seq
    assert set(written) == {"sources"}  # the lease and the poll state


async def test_a_changed_update_is_normalized_again_and_becomes_a_revision(polls: Polls) -> None:
    polls.blog.edit("b2", "Update 2, corrected")

    applied = await polls.poll()

    assert polls.normalized() == ["b2"] and len(polls.last.seen) == BLOCKS - 1
    assert (applied.new, applied.updated, applied.deleted) == (0, 1, 0)
    assert (await polls.revisions())["b2"] == (2, False)
    [draft] = polls.last.drafts
    assert draft.body_text == "Update 2, corrected"


async def test_unchanged_updates_count_as_listed_so_only_the_dropped_one_is_deleted(polls: Polls) -> None:
    polls.blog.delete("b3")

    applied = await polls.poll()

    assert polls.normalized() == [] and len(polls.last.seen) == BLOCKS - 1
    assert (applied.new, applied.updated, applied.deleted) == (0, 0, 1)
    revisions = await polls.revisions()
    assert revisions["b3"] == (1, True)
    assert all(not deleted for name, (_, deleted) in revisions.items() if name != "b3")


async def test_a_list_that_drops_most_updates_is_held_counting_the_unchanged_ones(polls: Polls) -> None:
    for n in range(1, BLOCKS):
        polls.blog.delete(f"b{n}")

    applied = await polls.poll()

    assert polls.normalized() == [] and len(polls.last.seen) == 1
    assert applied.held is not None and (applied.held.listed, applied.held.live) == (1, BLOCKS)
    assert applied.changed == 0


async def test_a_deleted_update_back_unchanged_is_normalized_and_revived(polls: Polls) -> None:
    text = polls.blog.texts()["b3"]
    polls.blog.delete("b3")
    await polls.poll()
    polls.blog.post("b3", text, minute=3)

    applied = await polls.poll()

    assert polls.normalized() == ["b3"]  # a tombstone's raw hash is not offered as known
    assert (applied.new, applied.updated, applied.deleted) == (0, 1, 0)
    assert (await polls.revisions())["b3"] == (2, False)


async def test_a_normalizer_version_bump_normalizes_every_update_again(
    polls: Polls, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run here, in-process, since the parse worker was forked with the version it imported."""
    source, seq, now = polls.source, await polls.last_seq(), polls.clock() + timedelta(minutes=1)
    snapshot = parse(polls.blog.render(), URL, adapter="guardian")
    known = await polls.store.raw_hashes(source.id)
    assert normalize(snapshot, source_id=source.id, now=now, known=known).drafts == []

    monkeypatch.setattr(RAW_HASH, "VERSION", RAW_HASH.VERSION + 1)
    again = normalize(snapshot, source_id=source.id, now=now, known=known)
    assert len(again.drafts) == BLOCKS and again.seen == []

    applied = await polls.store.apply(source.id, again.drafts, complete=True, now=now)
    assert applied.changed == 0 and await polls.last_seq() == seq  # same content: no revision, no seq
    known = await polls.store.raw_hashes(source.id)
    assert known == {draft.raw_hash for draft in again.drafts}
    assert normalize(snapshot, source_id=source.id, now=now, known=known).drafts == []


async def test_hashes_that_changed_since_they_were_read_write_nothing(polls: Polls) -> None:
    """Another write between reading the raw hashes and applying (a poll that outlived its lease): the
    drafts may miss what changed, so nothing is applied and the next poll reads the document again."""
    known = await polls.store.raw_hashes(polls.source.id)
    polls.blog.post("b-new", "Polls close", minute=30)
    late = normalize(
        parse(polls.blog.render(), URL), source_id=polls.source.id, now=polls.clock(), known=known
    )
    assert [draft.upstream_id for draft in late.drafts] == ["b-new"] and len(late.seen) == BLOCKS
    polls.blog.edit("b1", "Update 1, corrected")
    await polls.poll()  # the other poll: b1 has another raw hash now
    seq = await polls.last_seq()

    applied = await polls.store.apply(
        polls.source.id, late.drafts, seen=late.seen, complete=True, now=polls.clock()
    )

    assert applied.outdated and applied.changed == 0 and await polls.last_seq() == seq


async def test_events_stored_without_raw_hashes_are_normalized_once_without_revisions(polls: Polls) -> None:
    """As events written before raw hashes were kept: their source's next read normalizes every update,
    keeps the hashes without a revision or a seq, and the read after that normalizes nothing."""
    timeline_id = polls.source.timeline_id
    polls.source = await polls.store.add_source(timeline_id, URL + "?older", "guardian", now=polls.clock())
    snapshot = parse(polls.blog.render(), URL, adapter="guardian")
    drafts = normalize(snapshot, source_id=polls.source.id, now=polls.clock()).drafts
    older = [draft.model_copy(update={"raw_hash": None}) for draft in drafts]
    await polls.store.apply(polls.source.id, older, complete=True, now=polls.clock())
    assert await polls.store.raw_hashes(polls.source.id) == frozenset()
    seq = await polls.last_seq()

    applied = await polls.poll()
    assert len(polls.normalized()) == BLOCKS and applied.changed == 0 and await polls.last_seq() == seq
    polls.blog.title = "Election night – live, renamed"
    await polls.poll()
    assert polls.normalized() == [] and len(polls.last.seen) == BLOCKS
