"""`events.doc`, the JSON stored with each event: every write keeps it equal to the event its columns
hold as the public sees it (a tombstone when deleted), readers render rows an older version wrote without
one, and migration 0004 renders existing rows. On SQLite and PostgreSQL."""

from __future__ import annotations

import orjson
from sqlalchemy import select, text, update

from tests.timeline.store.test_migration_0002 import _to
from timeline.models import Event, Tombstone
from timeline.store import Store, _rows
from timeline.store._migrate import head_revision
from timeline.store.engine import create_engine, writer
from timeline.store.tables import events

from .drafts import draft, minutes


def _json(event: Event | Tombstone) -> str:
    return orjson.dumps(event.model_dump(mode="json")).decode()


def _public(event: Event) -> Event | Tombstone:
    """What the public sees of an event: itself, or when deleted or hidden only what a client needs to
    remove it."""
    if not (event.deleted or event.hidden):
        return event
    return Tombstone(id=event.id, seq=event.seq, published_at=event.published_at, position=event.position)


async def _assert_docs_match_columns(store: Store, timeline_id: str) -> None:
    """Each event built from its columns is, as the public sees it, what `event_doc`, `get_event` and
    `changes` read; `full_event` (keyed reads) reads it whole."""
    query = select(events).where(events.c.timeline_id == timeline_id).order_by(events.c.seq)
    columns = await store._read(lambda conn: [_rows.event(row) for row in conn.execute(query)])
    assert columns
    for event in columns:
        assert await store.event_doc(timeline_id, event.id) == _json(_public(event))
        assert await store.get_event(timeline_id, event.id) == _public(event)
        assert await store.full_event(timeline_id, event.id) == event
    changes = await store.changes(timeline_id, since=0, limit=1000)
    assert [(c.seq, c.kind, c.event) for c in changes] == [
        (e.seq, "delete" if e.deleted or e.hidden else "upsert", _public(e)) for e in columns
    ]


async def _reads(store: Store, timeline_id: str) -> tuple[object, ...]:
    page = await store.page_docs(timeline_id, order="asc", limit=2)
    rest = await store.page_docs(timeline_id, order="asc", after=page.next, limit=50)
    ids = [orjson.loads(doc)["id"] for doc in page.events + rest.events]
    one = [await store.event_doc(timeline_id, ident) for ident in ids]
    changes = await store.change_docs(timeline_id, since=0)
    return page, rest, await store.pinned_docs(timeline_id), one, changes


async def _fill(store: Store) -> str:
    timeline = await store.create_timeline("Election night")
    source = await store.add_source(timeline.id, "https://news.example/live", "guardian")
    drafts = [
        draft(source.id, "a", "first", at=minutes(1), pinned=True, tags=("politics",)),
        draft(source.id, "b", "second", at=minutes(2), key_event=True, title="Polls close"),
        draft(source.id, "c", "third", at=minutes(3), authors=("Ann Example",)),
    ]
    await store.apply(source.id, drafts, complete=True, now=minutes(4))
    return timeline.id


async def test_every_write_keeps_each_doc_equal_to_its_columns(store: Store) -> None:
    timeline_id = await _fill(store)
    await _assert_docs_match_columns(store, timeline_id)
    (source,) = (await store.get_timeline(timeline_id)).sources

    edited = [draft(source.id, "a", "first, corrected", at=minutes(1)), draft(source.id, "b", "second")]
    await store.apply(source.id, edited, complete=True, now=minutes(5))  # an edit and a deletion
    await _assert_docs_match_columns(store, timeline_id)
    assert (await store.get_event(timeline_id, edited[0].id)).revision == 2

    await store.apply(
        source.id, [draft(source.id, "b", "second", deleted=True)], complete=False, now=minutes(6)
    )
    await _assert_docs_match_columns(store, timeline_id)

    await store.remove_source(source.id, now=minutes(7))
    await _assert_docs_match_columns(store, timeline_id)
    assert all(c.event.deleted for c in await store.changes(timeline_id, since=0))


async def test_rows_an_older_version_wrote_without_a_doc_read_the_same(store: Store, db_url: str) -> None:
    timeline_id = await _fill(store)
    before = await _reads(store, timeline_id)
    engine = create_engine(db_url)
    try:
        async with writer(engine).begin() as conn:
            await conn.execute(update(events).values(doc=None))
    finally:
        await engine.dispose()
    assert await _reads(store, timeline_id) == before
    assert (await store.page(timeline_id)).events  # models too


async def test_0004_renders_the_docs_of_existing_events(db_url: str) -> None:
    async with await Store.open(db_url, migrate=True) as store:
        timeline_id = await _fill(store)
        before = await _reads(store, timeline_id)

    assert await _to(db_url, "0003", down=True) == "0003"
    assert await _to(db_url, "head") == head_revision()

    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM events WHERE doc IS NULL"))).scalar() == 0
    finally:
        await engine.dispose()
    async with await Store.open(db_url) as store:
        assert await _reads(store, timeline_id) == before
        await _assert_docs_match_columns(store, timeline_id)
