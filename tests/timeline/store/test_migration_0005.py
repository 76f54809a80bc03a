"""Migration 0005 on SQLite and PostgreSQL: a database whose tombstones still carry their content in the
stored JSON (as every version before wrote them) is upgraded to tombstones without it, the content kept in
the columns for keyed reads; the sources gain their (empty) hold; and it can be undone."""

from __future__ import annotations

import orjson
from sqlalchemy import Connection, inspect, select, update

from tests.timeline.store.test_migration_0002 import _to
from timeline.models import Event
from timeline.store import Store, _rows
from timeline.store._migrate import head_revision
from timeline.store.engine import create_engine, writer
from timeline.store.tables import events

from .drafts import PLAIN, T0, draft, minutes

SECRET = "Withdrawn: the minister called at 3am"
HOLD_COLUMNS = {"held_digest", "held_listed", "held_live", "held_since", "held_seen"}


async def _fill(url: str) -> tuple[str, list[str]]:
    """A timeline with two live events and two tombstones (one deleted outright, one by absence)."""
    async with await Store.open(url, migrate=True) as store:
        timeline = await store.create_timeline("Election night")
        source = await store.add_source(timeline.id, "https://news.example/live", "guardian")
        drafts = [
            draft(source.id, "a", "Polls open", at=minutes(1)),
            draft(source.id, "b", SECRET, at=minutes(2), title=SECRET, url="https://news.example/live#b"),
            draft(source.id, "c", f"{SECRET} (2)", at=minutes(3), authors=("Ann Example",), position=4),
            draft(source.id, "d", "Turnout is high", at=minutes(4)),
        ]
        await store.apply(source.id, drafts, complete=True, now=T0)
        await store.apply(source.id, [drafts[1].model_copy(update={"deleted": True})], complete=False, now=T0)
        kept = [drafts[0], drafts[3]]
        await store.apply(source.id, kept, complete=True, now=minutes(5), policy=PLAIN)
        return timeline.id, [d.id for d in drafts]


def _old_shape(conn: Connection) -> None:
    """What versions before 0005 stored for a tombstone: the whole event, content and all."""
    columns = [events.c[name] for name in _rows.EVENT_COLUMNS]  # those of 0004, not of later revisions
    for row in conn.execute(select(*columns).where(events.c.deleted.is_(True))).all():
        doc = orjson.dumps(_rows.event(row).model_dump(mode="json")).decode()
        conn.execute(update(events).where(events.c.id == row.id).values(doc=doc))


async def _docs(url: str) -> dict[str, str | None]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {ident: doc for ident, doc in await conn.execute(select(events.c.id, events.c.doc))}
    finally:
        await engine.dispose()


async def _source_columns(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda sync: inspect(sync).get_columns("sources"))
    finally:
        await engine.dispose()
    return {column["name"] for column in found}


async def test_0005_turns_old_tombstones_into_tombstones_without_content(db_url: str) -> None:
    timeline_id, (a, b, c, d) = await _fill(db_url)
    live_docs = {ident: doc for ident, doc in (await _docs(db_url)).items() if ident in (a, d)}

    assert await _to(db_url, "0004", down=True) == "0004"
    assert not HOLD_COLUMNS & await _source_columns(db_url)
    engine = create_engine(db_url)
    try:
        async with writer(engine).begin() as conn:
            await conn.run_sync(_old_shape)
    finally:
        await engine.dispose()
    assert any(SECRET in (doc or "") for doc in (await _docs(db_url)).values())

    assert await _to(db_url, "head") == head_revision()
    assert await _source_columns(db_url) >= HOLD_COLUMNS
    docs = await _docs(db_url)
    assert not any(SECRET in (doc or "") or "Ann Example" in (doc or "") for doc in docs.values())
    assert {ident: docs[ident] for ident in (a, d)} == live_docs
    gone = {ident: orjson.loads(docs[ident] or "null") for ident in (b, c)}
    assert gone[c] == {
        "id": c,
        "seq": gone[c]["seq"],
        "deleted": True,
        "published_at": "2024-05-01T12:03:00Z",
        "position": 4,
    }
    assert set(gone[b]) == {"id", "seq", "deleted", "published_at", "position"}

    async with await Store.open(db_url) as store:
        full = await store.full_event(timeline_id, c)
        assert isinstance(full, Event) and (full.deleted, full.body_text) == (True, f"{SECRET} (2)")
        assert (await store.get_timeline(timeline_id)).sources[0].health.held_deletions is None
        assert [ch.event.id for ch in await store.changes(timeline_id, since=0)] == [a, d, b, c]


async def test_0005_can_be_undone_and_redone(db_url: str) -> None:
    _, ids = await _fill(db_url)
    before = await _docs(db_url)
    assert await _to(db_url, "0004", down=True) == "0004"
    # The tombstones' docs are cleared (0006's going back clears those of live events too).
    assert {ident for ident, doc in (await _docs(db_url)).items() if doc is None} >= {ids[1], ids[2]}
    assert await _to(db_url, "head") == head_revision()
    assert await _docs(db_url) == before
