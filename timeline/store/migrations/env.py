"""Alembic environment for the store.

`timeline.store.migrate()` hands over an open connection in `config.attributes["connection"]`. The alembic
command line (see alembic.ini) passes the database instead as `-x url=…`; `--sql` prints the SQL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from timeline.store.engine import create_engine, writer
from timeline.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_at(url: str) -> None:
    engine = create_engine(url)
    try:
        async with writer(engine).connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("give the database as `alembic -x url=sqlite+aiosqlite:///path.db …`")
    return url


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    elif context.is_offline_mode():
        context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_at(_url()))


main()
