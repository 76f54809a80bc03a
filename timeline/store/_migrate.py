"""Schema migrations (alembic), run in code: no alembic.ini is needed at runtime."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.errors import StorageError
from timeline.store._base import wrap_errors
from timeline.store.engine import create_engine, writer

_MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@wrap_errors
async def migrate(url: str) -> None:
    """Create or upgrade the schema at `url` to the newest revision, in one transaction."""
    engine = create_engine(url)
    try:
        async with writer(engine).begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(_config(sync), "head"))
    finally:
        await engine.dispose()


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


async def check_schema(engine: AsyncEngine) -> None:
    """Raise `StorageError` unless the database is at the newest schema revision."""
    async with engine.connect() as conn:
        current = await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    if current != head_revision():
        state = "has no schema" if current is None else f"is at schema revision {current!r}"
        raise StorageError(
            f"the database {state}, this version needs {head_revision()!r}: run `timeline migrate` first"
        )
