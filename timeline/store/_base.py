"""What every part of the store shares: the engine, transactions, the clock and error wrapping."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Connection, Engine, exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.errors import StorageError, TimelineNotFoundError
from timeline.store.engine import is_sqlite, reader, sqlite_reads, writer
from timeline.store.tables import timelines
from timeline.store.types import Committed, OnCommit

log = logging.getLogger("timeline.store")

READ_THREADS = 4  # concurrent SQLite reads (WAL lets readers run beside the writer)
P = ParamSpec("P")
R = TypeVar("R")

# SQLAlchemy wraps errors of statements, not always those of connecting (asyncpg's reach us raw).
_DRIVER_ERRORS = (SQLAlchemyError, OSError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)


def wrap_errors(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Turn driver and connection errors into `StorageError`, once, at the public boundary.

    The store's own errors (not found, conflict, invalid cursor) are not driver errors and pass through.
    """

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except _DRIVER_ERRORS as exc:
            cause = getattr(exc, "orig", None) or exc  # the driver's message, without SQL and parameters
            raise StorageError(f"{method.__name__}: {type(cause).__name__}: {cause}") from exc

    return wrapper


_TAKEN = "timeline.store.committed"  # `Connection.info` key: what the open write transaction changed
Taken = dict[str, Committed]


def took(conn: Connection, committed: Committed) -> None:
    """Note that the write transaction on `conn` moves a timeline to a new seq (or deletes it), to be
    reported once it commits. Only `StoreBase._write` opens such transactions."""
    taken: Taken | None = conn.info.get(_TAKEN)
    if taken is None:
        raise RuntimeError("a write took a seq outside Store._write: nobody would learn of it")
    taken[committed.timeline_id] = committed


@contextlib.contextmanager
def _tracking(conn: Connection) -> Iterator[Taken]:
    """What `took` notes on `conn` while the block runs. The connection outlives the transaction (pools,
    SQLite's own threads), so the notes are taken off it again however the block ends."""
    taken: Taken = {}
    conn.info[_TAKEN] = taken
    try:
        yield taken
    finally:
        del conn.info[_TAKEN]


def utcnow() -> datetime:
    return datetime.now(UTC)


def timeline_must_exist(conn: Connection, timeline_id: str) -> None:
    """Raise `TimelineNotFoundError` unless the timeline exists."""
    if not conn.scalar(select(exists().where(timelines.c.id == timeline_id))):
        raise TimelineNotFoundError(timeline_id)


class _Threads:
    """Threads that run synchronous work on SQLite, each over a connection of its own that it keeps.

    Keeping the connection saves the pool's checkout, reset and checkin on every call (a sixth of a page
    read) and keeps SQLite's page cache warm.
    """

    def __init__(self, engine: Engine, count: int, name: str) -> None:
        self.engine = engine
        self._executor = ThreadPoolExecutor(count, name)
        self._local = threading.local()
        self._opened: list[Connection] = []

    async def run(self, work: Callable[[Connection], R], *, snapshot: bool = True) -> R:
        """`work` in one transaction, committed when it returns, rolled back if it raises; without
        `snapshot`, each of its statements sees the database as it is when that statement runs."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._on_own_connection, work, snapshot)

    def _on_own_connection(self, work: Callable[[Connection], R], snapshot: bool) -> R:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            if conn is not None:  # broken: closed with the threads no longer
                self._opened.remove(conn)
                conn.close()
            conn = self._local.conn = self.engine.connect()
            self._opened.append(conn)
        if snapshot:
            with conn.begin():
                return work(conn)
        try:
            return work(conn)
        finally:
            if conn.in_transaction():  # begun by a statement that went through SQLAlchemy
                conn.rollback()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        for conn in self._opened:
            conn.close()
        self.engine.dispose()


class StoreBase:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._on_commit: OnCommit | None = None
        self._reader = reader(engine)
        self._writer = writer(engine)
        # SQLite has one writer anyway: queue writers here rather than in busy_timeout retries.
        self._write_lock = asyncio.Lock() if is_sqlite(engine) else None
        sqlite = sqlite_reads(engine)
        self._sqlite_reads = _Threads(sqlite, READ_THREADS, "timeline-read") if sqlite else None
        # SQLite has one writer: one thread, with `BEGIN IMMEDIATE`, behind the write lock.
        self._sqlite_writes = _Threads(writer(sqlite), 1, "timeline-write") if sqlite else None

    async def _read(self, work: Callable[[Connection], R], *, snapshot: bool = True) -> R:
        """`work` (synchronous SQLAlchemy over one connection) in one read snapshot (`snapshot=False`:
        for work whose statements need none, which saves SQLite a BEGIN and a COMMIT).

        SQLite: the whole of it in one hop to a reading thread; PostgreSQL: on the event loop. (A page
        read right on the loop skips the hop, but then a read from a cold disk stalls every request; under
        bench/api.py's load it gave about the same throughput with a p99 of 0.3-0.5 s against 0.03-0.1 s.)
        """
        if self._sqlite_reads is not None:
            return await self._sqlite_reads.run(work, snapshot=snapshot)
        async with self._reader.connect() as conn:
            return await conn.run_sync(work)

    async def _write(self, work: Callable[[Connection], R]) -> R:
        """`work` (synchronous SQLAlchemy over one connection) in one write transaction: committed when it
        returns, rolled back if it raises, then reported (see `report_commits`). SQLite: in one hop to
        the writing thread; PostgreSQL: on the event loop."""

        def tracked(conn: Connection) -> tuple[R, Taken]:
            with _tracking(conn) as taken:
                return work(conn), taken

        if self._sqlite_writes is not None:
            async with self._write_lock or contextlib.nullcontext():
                result, taken = await self._sqlite_writes.run(tracked)
        else:
            async with self._writer.begin() as conn:
                result, taken = await conn.run_sync(tracked)
        await self._report(taken)
        return result

    def report_commits(self, listener: OnCommit | None) -> None:
        """Tell `listener` of every committed write that moves a timeline's seq or deletes a timeline."""
        self._on_commit = listener

    async def _report(self, taken: Taken) -> None:
        """Each timeline a committed transaction changed, to the listener. Its failure is logged, not
        raised: the write stands, and readers re-check every timeline's seq within a second anyway."""
        if self._on_commit is None:
            return
        for committed in taken.values():
            try:
                await self._on_commit(committed)
            except Exception:
                log.exception("telling of the commit of %s failed", committed)

    async def _close(self) -> None:
        for threads in (self._sqlite_reads, self._sqlite_writes):
            if threads is not None:
                threads.close()
        await self._engine.dispose()
