"""A migrated store per test on (a) a real SQLite file and (b) its own database on the real PostgreSQL.

Without a reachable PostgreSQL the postgres cases skip, unless `CI` is set: then they fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.postgres import new_postgres_database
from timeline.models import Source, Timeline
from timeline.store import Store, migrate


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}"
        return
    async with new_postgres_database() as url:
        yield url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    await migrate(db_url)
    async with await Store.open(db_url) as opened:
        yield opened


@pytest.fixture
async def timeline(store: Store) -> Timeline:
    return await store.create_timeline("Election night")


@pytest.fixture
async def source(store: Store, timeline: Timeline) -> Source:
    return await store.add_source(timeline.id, "https://news.example/live/election", "guardian")
