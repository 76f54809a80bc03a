"""Databases and a direct writer for the live tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.postgres import new_postgres_database
from tests.timeline.live.writer import Writer, writing


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}"


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A new PostgreSQL database of its own (skipped when the server is unreachable, unless CI)."""
    async with new_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[str]:
    """An empty database: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    async with new_postgres_database() as url:
        yield url


@pytest.fixture
async def writer(sqlite_url: str) -> AsyncIterator[Writer]:
    """A timeline with one source on a migrated SQLite file, written to from this process."""
    async with writing(sqlite_url) as opened:
        yield opened
