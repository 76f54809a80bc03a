"""The PostgreSQL pool takes its size from `TIMELINE_DB_POOL_SIZE` / `_MAX_OVERFLOW` / `_POOL_TIMEOUT`."""

from __future__ import annotations

import pytest

from tests.postgres import new_postgres_database
from timeline.errors import StorageError
from timeline.settings import Settings
from timeline.store import Store, migrate
from timeline.store.engine import Pool


@pytest.mark.postgres
async def test_a_full_pool_makes_queries_wait_then_fail_with_a_storage_error() -> None:
    settings = Settings(db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.2)
    async with new_postgres_database() as url:
        await migrate(url)
        async with await Store.open(url, pool=Pool.of(settings)) as store:
            await store.ping()
            async with store._engine.connect():  # the pool's one connection, held
                with pytest.raises(StorageError, match="TimeoutError"):
                    await store.ping()
            await store.ping()  # given back: queries run again


def test_the_defaults_leave_room_for_four_processes_under_max_connections() -> None:
    pool = Pool.of(Settings())
    assert 4 * (pool.size + pool.max_overflow + 2) <= 100
