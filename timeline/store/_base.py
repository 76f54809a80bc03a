"""What every part of the store shares: the engine, transactions, the clock and error wrapping."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Connection, Engine, exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.errors import StorageError, TimelineNotFoundError
from timeline.store.engine import is_sqlite, reader, sqlite_reads, writer
from timeline.store.tables import timelines

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


def utcnow() -> datetime:
    return datetime.now(UTC)


def timeline_must_exist(conn: Connection, timeline_id: str) -> None:
    """Raise `TimelineNotFoundError` unless the timeline exists."""
    if not conn.scalar(select(exists().where(timelines.c.id == timeline_id))):
        raise TimelineNotFoundError(timeline_id)


async def require_timeline(conn: AsyncConnection, timeline_id: str) -> None:
    await conn.run_sync(timeline_must_exist, timeline_id)


def _in_snapshot(engine: Engine, work: Callable[[Connection], R]) -> R:
    with engine.connect() as conn, conn.begin():
        return work(conn)


class StoreBase:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._writer = writer(engine)
        # SQLite has one writer anyway: queue writers here rather than in busy_timeout retries.
        self._write_lock = asyncio.Lock() if is_sqlite(engine) else None
        self._sqlite_reads = sqlite_reads(engine)
        self._read_threads = ThreadPoolExecutor(READ_THREADS, "timeline-read") if self._sqlite_reads else None
        # SQLite has one writer: one thread, with `BEGIN IMMEDIATE`, behind the write lock.
        self._sqlite_writes = writer(self._sqlite_reads) if self._sqlite_reads else None
        self._write_thread = ThreadPoolExecutor(1, "timeline-write") if self._sqlite_reads else None

    async def _read(self, work: Callable[[Connection], R]) -> R:
        """`work` (synchronous SQLAlchemy over one connection) in one read snapshot.

        SQLite: the whole of it in one hop to a reading thread; PostgreSQL: on the event loop. (Reads of
        a few rows would cost less right on the loop than the hop, but a read from a cold disk would then
        stall every request: measured in bench/RESULTS.md, issue 4.)
        """
        if self._sqlite_reads is not None and self._read_threads is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._read_threads, _in_snapshot, self._sqlite_reads, work)
        async with self._reading() as conn:
            return await conn.run_sync(work)

    async def _write(self, work: Callable[[Connection], R]) -> R:
        """`work` (synchronous SQLAlchemy over one connection) in one write transaction: committed when it
        returns, rolled back if it raises. SQLite: in one hop to the writing thread; PostgreSQL: on the
        event loop."""
        if self._sqlite_writes is not None and self._write_thread is not None:
            async with self._write_lock or contextlib.nullcontext():
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._write_thread, _in_snapshot, self._sqlite_writes, work)
        async with self._writer.begin() as conn:
            return await conn.run_sync(work)

    async def _close(self) -> None:
        for threads in (self._read_threads, self._write_thread):
            if threads is not None:
                threads.shutdown(wait=True)
        if self._sqlite_reads is not None:
            self._sqlite_reads.dispose()
        await self._engine.dispose()

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        async with self._reader.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        async with self._write_lock or contextlib.nullcontext(), self._writer.begin() as conn:
            yield conn
