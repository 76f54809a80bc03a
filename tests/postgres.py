"""The real PostgreSQL server for tests: statements on its `postgres` database, and a new database per test.

Without a reachable server a test skips, unless `CI` is set: then it fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import make_url

from tests.conftest import POSTGRES_URL
from timeline.hub.postgres import asyncpg_dsn


async def admin(sql: str, *args: object) -> list[asyncpg.Record]:
    """Run `sql` on the server's `postgres` database; its rows."""
    dsn = asyncpg_dsn(make_url(POSTGRES_URL).set(database="postgres").render_as_string(hide_password=False))
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        found: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return found
    finally:
        await conn.close()


@asynccontextmanager
async def new_postgres_database() -> AsyncIterator[str]:
    """The SQLAlchemy URL of a new, empty PostgreSQL database, dropped afterwards."""
    name = f"tl_test_{secrets.token_hex(6)}"
    try:
        await admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {make_url(POSTGRES_URL)!s} is unreachable: {exc!r}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
