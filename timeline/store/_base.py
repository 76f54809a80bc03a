"""What every part of the store shares: the engine, transactions, the clock and error wrapping."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.errors import StorageError, TimelineNotFoundError
from timeline.store.engine import is_sqlite, reader, writer
from timeline.store.tables import timelines

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


async def require_timeline(conn: AsyncConnection, timeline_id: str) -> None:
    """Raise `TimelineNotFoundError` unless the timeline exists."""
    if not await conn.scalar(select(exists().where(timelines.c.id == timeline_id))):
        raise TimelineNotFoundError(timeline_id)


class StoreBase:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._writer = writer(engine)
        # SQLite has one writer anyway: queue writers here rather than in busy_timeout retries.
        self._write_lock = asyncio.Lock() if is_sqlite(engine) else None

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        async with self._reader.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        async with self._write_lock or contextlib.nullcontext(), self._writer.begin() as conn:
            yield conn
