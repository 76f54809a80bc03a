"""Async engines for SQLite (embedded) and PostgreSQL (scale-out) from one URL.

PostgreSQL: a pool of `Pool.size` connections kept open plus `Pool.max_overflow` opened under load, each
checked with a ping when taken from the pool, so that a database restart costs one failed ping per stale
connection instead of a failed request (see docs/postgres.md for sizing).

SQLite: WAL, `busy_timeout`, foreign keys, `synchronous=NORMAL`, and transactions begun by us so writes
can take the write lock up front with `BEGIN IMMEDIATE` (pysqlite's own transaction handling would defer
the lock to the first write, where a second writer then fails instead of waiting). See SQLAlchemy's
"Serializable isolation / Savepoints / Transactional DDL (asyncio version)" for the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, event, make_url
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from timeline.settings import Settings

__all__ = ["Pool", "create_engine", "display_url", "is_sqlite", "reader", "sqlite_reads", "writer"]

_WRITE = "timeline_write"
AnyEngine = TypeVar("AnyEngine", AsyncEngine, Engine)
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


@dataclass(frozen=True, slots=True)
class Pool:
    """Connection pool of one process (PostgreSQL; SQLite keeps SQLAlchemy's defaults)."""

    size: int = 5  # connections kept open
    max_overflow: int = 10  # more, opened under load and closed when returned
    timeout: float = 30.0  # seconds a query waits for a free connection before failing

    @classmethod
    def of(cls, settings: Settings) -> Pool:
        """The pool `TIMELINE_DB_POOL_SIZE`, `…_MAX_OVERFLOW` and `…_POOL_TIMEOUT` ask for."""
        return cls(settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout)


def create_engine(url: str, pool: Pool | None = None) -> AsyncEngine:
    """An engine for `sqlite+aiosqlite:///path` or `postgresql+asyncpg://…`; dispose it when done."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_async_engine(url)
    else:
        pool = pool or Pool()
        engine = create_async_engine(
            url,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout,
            pool_pre_ping=True,
        )
    if is_sqlite(engine):
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def display_url(url: str) -> str:
    """`url` as it may be printed: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_reads(engine: AsyncEngine) -> Engine | None:
    """A synchronous engine on the same SQLite file, for reads run whole in a worker thread.

    Through aiosqlite every cursor call is a hop to its thread and back (a dozen per page of events);
    a plain sqlite3 connection in one of our threads makes a whole read one hop. None for PostgreSQL
    (asyncpg is asynchronous already) and for in-memory databases (a second engine would not see them).
    """
    url = engine.url
    if not is_sqlite(engine) or url.database in (None, "", ":memory:"):
        return None
    sync = create_sync_engine(url.set(drivername="sqlite"), connect_args={"check_same_thread": False})
    event.listen(sync, "connect", _on_sqlite_connect)
    event.listen(sync, "begin", _on_sqlite_begin)
    return sync


def writer(engine: AnyEngine) -> AnyEngine:
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
    # On the driver's cursor: through `exec_driver_sql` this took a third of a page read.
    cursor = connection.connection.cursor()
    cursor.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    cursor.close()
