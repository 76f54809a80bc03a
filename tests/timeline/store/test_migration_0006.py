"""Migration 0006 (the editorial layer) on SQLite and PostgreSQL: a 0005 database, its live events' JSON in
the old shape, is upgraded to the new shape (`note`, `hidden`) with the source's own title and flags kept
beside the columns; and going back publishes hidden events again with the source's title and flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import orjson
from sqlalchemy import Connection, inspect, select, update

from tests.timeline.store.test_migration_0002 import _to
from timeline.store import Post, Store
from timeline.store._migrate import head_revision
from timeline.store.engine import create_engine, writer
from timeline.store.tables import events

from .drafts import T0, draft, minutes
from .test_docs import _assert_docs_match_columns

T = TypeVar("T")


async def _fill(url: str) -> tuple[str, list[str]]:
    """Four updates: `a` titled and pinned by its source, `d` deleted."""
    async with await Store.open(url, migrate=True) as store:
        timeline = await store.create_timeline("Election night")
        source = await store.add_source(timeline.id, "https://news.example/live", "guardian")
        drafts = [
            draft(source.id, "a", "Polls open", at=minutes(1), title="Open", pinned=True),
            draft(source.id, "b", "Exit poll", at=minutes(2), key_event=True),
            draft(source.id, "c", "Turnout", at=minutes(3)),
            draft(source.id, "d", "Withdrawn", at=minutes(4)),
        ]
        await store.apply(source.id, drafts, complete=False, now=T0)
        await store.apply(source.id, [draft(source.id, "d", deleted=True)], complete=False, now=T0)
        return timeline.id, [d.id for d in drafts]


async def _execute(url: str, work: Callable[[Connection], T]) -> T:
    engine = create_engine(url)
    try:
        async with writer(engine).begin() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


def _docs(conn: Connection) -> dict[str, str | None]:
    return {ident: doc for ident, doc in conn.execute(select(events.c.id, events.c.doc))}


def _old_shape(conn: Connection) -> None:
    """What 0005 stored for a live event: its JSON without `note` and `hidden`."""
    for ident, doc in conn.execute(select(events.c.id, events.c.doc)).all():
        if doc is None:
            continue
        old = {name: value for name, value in orjson.loads(doc).items() if name not in ("note", "hidden")}
        conn.execute(update(events).where(events.c.id == ident).values(doc=orjson.dumps(old).decode()))


def _columns(conn: Connection, table: str) -> set[str]:
    return {column["name"] for column in inspect(conn).get_columns(table)}


async def test_0006_renders_old_docs_in_the_new_shape_and_keeps_the_sources_flags(db_url: str) -> None:
    timeline_id, (a, _b, _c, d) = await _fill(db_url)
    head_docs = await _execute(db_url, _docs)
    assert await _to(db_url, "0005", down=True) == "0005"
    await _execute(db_url, _old_shape)
    old_docs = await _execute(db_url, _docs)
    assert "note" not in (old_docs[a] or "") and old_docs[d] == head_docs[d]

    assert await _to(db_url, "head") == head_revision()
    assert await _execute(db_url, _docs) == head_docs
    async with await Store.open(db_url) as store:
        await _assert_docs_match_columns(store, timeline_id)
        cleared = await store.edit_event(
            timeline_id, a, {"title": "Ours", "pinned": False}, editor="x", now=T0
        )
        assert (cleared.title, cleared.pinned) == ("Ours", False)
        back = await store.edit_event(timeline_id, a, {"title": None, "pinned": None}, editor="x", now=T0)
        assert (back.title, back.pinned) == ("Open", True)  # the source's own, kept by the migration


async def test_0006_going_back_publishes_hidden_events_again_and_drops_the_editorial_layer(
    db_url: str,
) -> None:
    timeline_id, (a, b, c, _d) = await _fill(db_url)
    async with await Store.open(db_url) as store:
        await store.edit_event(timeline_id, a, {"title": "Ours", "pinned": False}, editor="x", now=T0)
        await store.edit_event(timeline_id, b, {"hidden": True}, editor="x", now=T0)
        post = await store.post_event(
            timeline_id, Post(body_html="<p>Our own</p>", published_at=minutes(5)), editor="x", now=T0
        )

    assert await _to(db_url, "0005", down=True) == "0005"
    assert not {"hidden", "note", "source_title", "title_override"} & await _execute(
        db_url, lambda c: _columns(c, "events")
    )  # type: ignore[operator]
    assert "editor" not in await _execute(db_url, lambda c: _columns(c, "event_revisions"))  # type: ignore[operator]
    tables = await _execute(db_url, lambda c: set(inspect(c).get_table_names()))
    assert "editorial_actions" not in tables  # type: ignore[operator]
    docs = await _execute(db_url, _docs)
    assert {ident for ident, doc in docs.items() if doc is None} == {a, b, c, post.id}  # type: ignore[union-attr]

    assert await _to(db_url, "head") == head_revision()
    async with await Store.open(db_url) as store:
        listed = [(e.id, e.title, e.pinned) for e in (await store.page(timeline_id, order="asc")).events]
        assert listed == [(a, "Open", True), (b, None, False), (c, None, False), (post.id, None, False)]
        assert [e.id for e in await store.pinned(timeline_id)] == [a]
        await _assert_docs_match_columns(store, timeline_id)
        assert (await store.audit(timeline_id)).entries == []
