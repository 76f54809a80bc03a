"""Statements compiled once and run straight on the driver's cursor, for the hottest reads and writes.

`conn.execute` looks its statement up in the compiled cache, builds an execution context, converts each
parameter and wraps every row; for a page of 20 events that took several times as long as SQLite took
to answer. Here the SQL text and the parameters' bind processors (the column types' own conversions, as
SQLAlchemy would apply them) are worked out once per statement and dialect, and rows come back as the
driver's tuples, unconverted: callers select only columns whose raw values they can use. Listeners of
`before_cursor_execute` are still called (those that rewrite the statement are not supported).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class Compiled(NamedTuple):
    sql: str
    keys: tuple[str, ...]  # the positional parameters' names (both drivers take positional ones)
    convert: tuple[Callable[[Any], Any], ...]
    defaults: Mapping[str, Any]  # values the statement carries itself (SQLite's `OFFSET 0`, say)

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        defaults = self.defaults
        return tuple(
            to_db(values[key] if key in values else defaults[key])
            for to_db, key in zip(self.convert, self.keys, strict=True)
        )


@functools.lru_cache(maxsize=256)  # a few shapes per statement kind, per engine's dialect
def compiled(
    statement: ClauseElement, dialect: Dialect, column_keys: tuple[str, ...] | None = None
) -> Compiled:
    """`statement` compiled for `dialect` (`column_keys`: the columns an INSERT gets values for)."""
    columns = list(column_keys) if column_keys else None
    done = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=columns))
    keys = tuple(done.positiontup or ())
    binds = {key: done.binds[key] for key in keys}
    convert = tuple(binds[key].type.bind_processor(dialect) or _unchanged for key in keys)
    return Compiled(str(done), keys, convert, {key: bind.value for key, bind in binds.items()})


def _unchanged(value: Any) -> Any:
    return value


def fetch(conn: Connection, statement: ClauseElement, values: Mapping[str, Any]) -> list[Sequence[Any]]:
    """The rows of `statement` with `values` bound, as the driver returns them (raw column values)."""
    query = compiled(statement, conn.dialect)
    parameters = query.parameters(values)
    cursor = conn.connection.cursor()
    try:
        # Listeners still see the statement, as with `conn.execute` (tests, bench.plans, tracing).
        for listener in conn.dispatch.before_cursor_execute:
            listener(conn, cursor, query.sql, parameters, None, False)
        cursor.execute(query.sql, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def execute_many(conn: Connection, statement: ClauseElement, rows: list[dict[str, Any]]) -> None:
    """`statement` once per row of values (all rows with the same keys), converted as SQLAlchemy would."""
    query = compiled(statement, conn.dialect, tuple(rows[0]))
    conn.exec_driver_sql(query.sql, [query.parameters(row) for row in rows])
