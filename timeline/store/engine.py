"""Async engines for SQLite (embedded) and PostgreSQL (scale-out) from one URL.

SQLite: WAL, `busy_timeout`, foreign keys, `synchronous=NORMAL`, and transactions begun by us so writes
can take the write lock up front with `BEGIN IMMEDIATE` (pysqlite's own transaction handling would defer
the lock to the first write, where a second writer then fails instead of waiting). See SQLAlchemy's
"Serializable isolation / Savepoints / Transactional DDL (asyncio version)" for the recipe.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["create_engine", "is_sqlite", "reader", "writer"]

_WRITE = "timeline_write"
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def create_engine(url: str) -> AsyncEngine:
    """An engine for `sqlite+aiosqlite:///path` or `postgresql+asyncpg://…`; dispose it when done."""
    engine = create_async_engine(url)
    if is_sqlite(engine):
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, for write transactions (`BEGIN IMMEDIATE` on SQLite)."""
    return engine.execution_options(**{_WRITE: True})


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, for reads: one snapshot per transaction on both backends.

    SQLite gives that in any transaction; PostgreSQL's default READ COMMITTED would let a page and its
    "is there more?" query see different data.
    """
    if is_sqlite(engine):
        return engine
    return engine.execution_options(isolation_level="REPEATABLE READ")


def _on_sqlite_connect(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _on_sqlite_begin
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
