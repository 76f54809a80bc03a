"""PostgreSQL for the live tests: a look at the hub's sessions on the server."""

from __future__ import annotations

from sqlalchemy import make_url

from tests.postgres import admin


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
