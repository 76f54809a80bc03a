"""PostgreSQL for the live tests: a new database per test, and a look at the server's sessions.

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
    name = f"tl_live_{secrets.token_hex(6)}"
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


async def hub_backends(url: str, role: str) -> list[int]:
    """Server pids of the hub's `listener` or `publisher` sessions on the database of `url`."""
    rows = await admin(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
        make_url(url).database,
        f"timeline-hub-{role}",
    )
    return [row["pid"] for row in rows]


async def terminate_hub_backends(url: str) -> set[int]:
    """Kill every hub session (listeners and publishers) on the database of `url`; their pids."""
    rows = await admin(
        "SELECT pid, pg_terminate_backend(pid) AS done FROM pg_stat_activity"
        " WHERE datname = $1 AND application_name LIKE 'timeline-hub-%'",
        make_url(url).database,
    )
    assert all(row["done"] for row in rows)
    return {row["pid"] for row in rows}
