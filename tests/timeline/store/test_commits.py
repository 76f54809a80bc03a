"""The store's one exit for writes: every committed write that moves a timeline's seq, or deletes a timeline,
is reported to the listener once, after the commit; nothing else is, and a failed write is not."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Connection

from timeline.errors import SourceNotFoundError
from timeline.models import Source, Timeline
from timeline.store import Committed, Store
from timeline.store._writes import touch

from .drafts import T0, draft


class Listener:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.heard: list[Committed] = []
        self.seen_seqs: list[int] = []

    async def __call__(self, committed: Committed) -> None:
        self.heard.append(committed)
        if not committed.deleted:  # reported after the commit: a fresh read sees it
            self.seen_seqs.append((await self.store.timeline_seq(committed.timeline_id))[1])

    def take(self) -> list[Committed]:
        heard, self.heard = self.heard, []
        return heard


@pytest.fixture
def listener(store: Store) -> Listener:
    heard = Listener(store)
    store.report_commits(heard)
    return heard


async def test_every_write_that_takes_a_seq_is_reported_once(
    store: Store, timeline: Timeline, source: Source, listener: Listener
) -> None:
    drafts = [draft(source.id, "a"), draft(source.id, "b")]
    first = await store.apply(source.id, drafts, complete=False, now=T0)
    assert listener.take() == [Committed(timeline.id, first.last_seq)]
    assert (await store.apply(source.id, drafts, complete=False, now=T0)).changed == 0
    assert listener.take() == []

    renamed = await store.update_timeline(timeline.id, title="Results night")
    assert listener.take() == [Committed(timeline.id, renamed.last_seq)]
    assert await store.update_timeline(timeline.id) == renamed  # nothing to change: no seq, no report
    assert listener.take() == []

    removed = await store.remove_source(source.id)
    assert listener.take() == [Committed(timeline.id, removed.last_seq)]
    assert listener.seen_seqs == [first.last_seq, renamed.last_seq, removed.last_seq]

    other = await store.create_timeline("Another")
    await store.add_source(other.id, "https://news.example/other", "auto")
    assert listener.take() == []  # no seq taken
    await store.delete_timeline(other.slug)
    assert listener.take() == [Committed(other.id, 0, deleted=True)]


async def test_a_write_that_fails_is_not_reported(store: Store, listener: Listener) -> None:
    with pytest.raises(SourceNotFoundError):
        await store.apply("src_none", [draft("src_none", "a")], complete=False, now=T0)
    assert listener.take() == []


async def test_a_failing_listener_is_logged_and_the_write_stands(
    store: Store, source: Source, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(committed: Committed) -> None:
        raise RuntimeError("hub down")

    store.report_commits(broken)
    with caplog.at_level(logging.ERROR, logger="timeline.store"):
        result = await store.apply(source.id, [draft(source.id, "a")], complete=False, now=T0)
    assert result.new == 1 and (await store.timeline_seq(result.timeline_id))[1] == result.last_seq
    assert "telling of the commit" in caplog.text and "hub down" in caplog.text


async def test_a_seq_taken_outside_the_exit_is_refused(store: Store, timeline: Timeline) -> None:
    def sneak(conn: Connection) -> int:
        return touch(conn, timeline.id)

    with pytest.raises(RuntimeError, match=r"outside Store\._write"):
        await store._read(sneak)
