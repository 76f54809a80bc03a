"""A migrated store per test on (a) a real SQLite file and (b) its own database on the real PostgreSQL.

Without a reachable PostgreSQL the postgres cases skip, unless `CI` is set: then they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url

from tests.conftest import POSTGRES_URL
from timeline.models import Source, Timeline
from timeline.store import Store, migrate


def _admin_dsn() -> str:
    """asyncpg's DSN for the server's `postgres` database, from the test URL."""
    url = make_url(POSTGRES_URL).set(drivername="postgresql", database="postgres")
    return url.render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _create_database(name: str) -> None:
    """Create it, or skip the test (under CI: fail it) when the server cannot be reached."""
    try:
        await _admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {make_url(POSTGRES_URL)!s} is unreachable: {exc!r}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}"
        return
    name = f"tl_test_{secrets.token_hex(6)}"
    await _create_database(name)
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
