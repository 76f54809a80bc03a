"""Migration 0003 (`sources.consecutive_missing`) on SQLite and PostgreSQL: removed and added again on a
database with a source, whose poll state survives, the new count starting at 0."""

from __future__ import annotations

from tests.timeline.store.test_migration_0002 import _to
from timeline.store import PollState, Store
from timeline.store._migrate import head_revision


async def test_0003_can_be_undone_and_redone_on_a_database_with_sources(db_url: str) -> None:
    async with await Store.open(db_url, migrate=True) as store:
        timeline = await store.create_timeline("Election night")
        source = await store.add_source(timeline.id, "https://news.example/live", "guardian")
        failing = PollState(status="failing", consecutive_failures=2, consecutive_missing=2)
        await store.save_poll_state(source.id, failing)
        assert (await store.get_poll_state(source.id)).consecutive_missing == 2

    assert await _to(db_url, "0002", down=True) == "0002"
    assert await _to(db_url, "head") == head_revision()

    async with await Store.open(db_url) as store:
        state = await store.get_poll_state(source.id)
        assert (state.status, state.consecutive_failures, state.consecutive_missing) == ("failing", 2, 0)
