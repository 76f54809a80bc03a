"""Migration 0002 (the key-events index) on SQLite and PostgreSQL: up from a 0001 database that holds
data, down, and up again; key-event pages read the same events before and after."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from tests.timeline.store.drafts import draft, minutes
from timeline.store import Store
from timeline.store._migrate import _config
from timeline.store.engine import create_engine, writer


async def _to(url: str, revision: str, *, down: bool = False) -> str | None:
    """Upgrade (or downgrade) to `revision`; the revision the database is at afterwards."""
    engine = create_engine(url)
    try:
        async with writer(engine).begin() as conn:
            move = command.downgrade if down else command.upgrade
            await conn.run_sync(lambda sync: move(_config(sync), revision))
        async with engine.connect() as conn:
            return await conn.run_sync(_state)
    finally:
        await engine.dispose()


def _state(sync: Connection) -> str | None:
    return MigrationContext.configure(sync).get_current_revision()


async def _key_event_index(url: str) -> bool:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            indexes = await conn.run_sync(lambda sync: inspect(sync).get_indexes("events"))
    finally:
        await engine.dispose()
    return "ix_events_key_events" in {index["name"] for index in indexes}


async def _key_pages(url: str, timeline_id: str) -> list[list[str]]:
    """Every page of key events, newest first, three at a time, by following `next`."""
    async with await Store.open(url) as store:
        pages, cursor = [], None
        while True:
            page = await store.page(timeline_id, limit=3, after=cursor, key_events=True)
            pages.append([event.upstream_id for event in page.events])
            if page.next is None:
                return pages
            cursor = page.next


async def test_0002_adds_the_key_events_index_to_a_database_with_events_and_can_be_undone(
    db_url: str,
) -> None:
    assert await _to(db_url, "0001") == "0001"
    async with await Store.open(db_url, migrate=True) as store:  # what `timeline serve` does: on to head
        timeline = await store.create_timeline("Election night")
        source = await store.add_source(timeline.id, "https://news.example/live", "guardian")
        drafts = [
            draft(source.id, f"u{n}", f"Update {n}", at=minutes(n), key_event=n % 3 == 0, deleted=n == 9)
            for n in range(20)
        ]
        await store.apply(source.id, drafts, complete=False, now=datetime.now(UTC))
    assert await _key_event_index(db_url)
    expected = [["u18", "u15", "u12"], ["u6", "u3", "u0"]]  # u9 is a tombstone
    assert await _key_pages(db_url, timeline.id) == expected

    assert await _to(db_url, "0001", down=True) == "0001"
    assert not await _key_event_index(db_url)
    assert await _to(db_url, "0002") == "0002"
    assert await _key_event_index(db_url)
    await _to(db_url, "head")  # a store opens only at the newest schema
    assert await _key_pages(db_url, timeline.id) == expected
