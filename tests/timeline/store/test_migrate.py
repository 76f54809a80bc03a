from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, make_url

from tests.conftest import POSTGRES_URL
from timeline.errors import StorageError
from timeline.store import Store, migrate
from timeline.store.engine import create_engine
from timeline.store.tables import metadata


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_migrate_creates_the_schema_of_tables_py(db_url: str) -> None:
    await migrate(db_url)
    await migrate(db_url)  # already at head: nothing to do
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_open_refuses_an_unmigrated_database(db_url: str) -> None:
    with pytest.raises(StorageError, match="timeline migrate"):
        await Store.open(db_url)


async def test_open_can_migrate_first(db_url: str) -> None:
    async with await Store.open(db_url, migrate=True) as store:
        assert await store.list_timelines() == []


@pytest.mark.postgres
async def test_driver_errors_become_storage_errors() -> None:
    missing = make_url(POSTGRES_URL).set(database="tl_test_does_not_exist")
    with pytest.raises(StorageError) as caught:
        await Store.open(missing.render_as_string(hide_password=False))
    assert caught.value.__cause__ is not None
