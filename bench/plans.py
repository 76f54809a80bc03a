"""Query plans of the store's hot reads on PostgreSQL, at 1.2M events and 10,000 sources (docs/postgres.md).

    .venv/bin/python -m bench.plans [--url postgresql+asyncpg://postgres@127.0.0.1/tl_bench_plans] [--reseed]

Seeds the database once with SQL (`generate_series`: a 1,000,000-event timeline, 200 timelines of 1,000,
10,000 sources due over the next minute; ~600-byte bodies, 4 % key events, 2 % tombstones), then calls the
real `Store` methods, records the SQL they send, and prints `EXPLAIN (ANALYZE, BUFFERS)` of each, run
twice (the second, warm run is printed). The claim runs in a transaction that is rolled back.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, make_url

from timeline.hub.postgres import asyncpg_dsn
from timeline.ids import SortKey, encode_cursor
from timeline.store import Store, migrate

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/tl_bench_plans"
BIG, SMALL, SMALL_EVENTS, SOURCES = 1_000_000, 200, 1_000, 10_000
START_MICROS = 1_762_000_000_000_000
STEP_MICROS = 7_000_000  # an event every 7 s

# A stand-in for each event's stored JSON, of about its size: plans depend on row width, not on content.
DOC = (
    "json_build_object('id', g, 'body_html', repeat('<p>Polls have closed in the east; counting goes on. "
    "</p>', 10), 'body_text', repeat('Counting. ', 30), 'title', 'Update ' || g)::text"
)
SEED = f"""
INSERT INTO timelines VALUES ('tl_big', 'big', 'Big', 'live', 0, 0);
INSERT INTO timelines SELECT 'tl_s' || g, 'small-' || g, 'Small ' || g, 'live', 0, 0
  FROM generate_series(1, {SMALL}) g;
INSERT INTO sources (id, timeline_id, url, adapter, created_at, status, next_poll_at, interval_seconds,
                     consecutive_failures)
  SELECT 'src_' || g, CASE WHEN g <= 100 THEN 'tl_big' ELSE 'tl_s' || (g % {SMALL} + 1) END,
         'https://news.example/live/' || g, 'guardian', 0, 'ok',
         (extract(epoch FROM now()) * 1e6)::bigint + (g % 60) * 1000000, 30, 0
  FROM generate_series(1, {SOURCES}) g;
INSERT INTO events (id, timeline_id, source_id, upstream_id, url, published_at, time_estimated, title,
                    body_html, body_text, key_event, pinned, authors, tags, media, position, content_hash,
                    revision, deleted, seq, doc)
  SELECT 'ev_' || md5(g::text), 'tl_big', 'src_' || (g % 100 + 1), 'u' || g, NULL,
         {START_MICROS} + g * {STEP_MICROS}::bigint, false, 'Update ' || g,
         repeat('<p>Polls have closed in the east; counting goes on. </p>', 10), repeat('Counting. ', 30),
         g % 25 = 0, g IN (999000, 500000), '[]', '[]', '[]', 0, md5(g::text), 1, g % 50 = 7, g, {DOC}
  FROM generate_series(1, {BIG}) g;
INSERT INTO events (id, timeline_id, source_id, upstream_id, url, published_at, time_estimated, title,
                    body_html, body_text, key_event, pinned, authors, tags, media, position, content_hash,
                    revision, deleted, seq, doc)
  SELECT 'ev_' || md5('s' || g), 'tl_s' || (g % {SMALL} + 1), 'src_' || (100 + g % {SMALL} + 1), 'u' || g,
         NULL, {START_MICROS} + g * {STEP_MICROS}::bigint, false, 'Update ' || g,
         repeat('<p>Polls have closed in the east; counting goes on. </p>', 10), repeat('Counting. ', 30),
         g % 25 = 0, false, '[]', '[]', '[]', 0, md5('s' || g), 1, g % 50 = 7, {BIG} + g, {DOC}
  FROM generate_series(1, {SMALL * SMALL_EVENTS}) g;
UPDATE timelines SET last_seq = (SELECT max(seq) FROM events WHERE events.timeline_id = timelines.id);
UPDATE seq_counter SET last_seq = {BIG + SMALL * SMALL_EVENTS};
"""


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(make_url(url).set(database="postgres").render_as_string(False)))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(url: str, reseed: bool) -> None:
    name = make_url(url).database
    if reseed:
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    try:
        await _admin(url, f'CREATE DATABASE "{name}"')
    except asyncpg.DuplicateDatabaseError:
        print(f"Using the seeded database {name} (--reseed rebuilds it).", flush=True)
        await migrate(url)  # new indexes, if any
        return
    print(f"Seeding {name}: {BIG + SMALL * SMALL_EVENTS:,} events, {SOURCES:,} sources…", flush=True)
    await migrate(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(SEED)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


Call = Callable[[Store], Awaitable[Any]]


def _middle_cursor() -> str:
    micros = START_MICROS + (BIG // 2) * STEP_MICROS
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    return encode_cursor(SortKey(at, 0, "ev_"))


def calls() -> dict[str, Call]:
    """The hot reads, as the API and the pollers make them."""
    cursor = _middle_cursor()
    last = BIG
    return {
        "first page, newest first": lambda s: s.page_docs("tl_big", limit=20),
        "deep page, newest first (after a cursor)": lambda s: s.page_docs("tl_big", limit=20, after=cursor),
        "deep page, oldest first (after a cursor)": lambda s: s.page_docs(
            "tl_big", order="asc", limit=20, after=cursor
        ),
        "deep page of key events, newest first": lambda s: s.page_docs(
            "tl_big", limit=20, after=cursor, key_events=True
        ),
        "pinned events": lambda s: s.pinned_docs("tl_big"),
        "changes since a recent seq": lambda s: s.change_docs("tl_big", since=last - 300, limit=500),
        "changes since 0 (full replay, first call)": lambda s: s.change_docs("tl_big", since=0, limit=500),
        "last_seq of a timeline (ETag)": lambda s: s.timeline_seq("big"),
        "claim due sources (FOR UPDATE SKIP LOCKED)": lambda s: s.claim_due(
            "bench", now=datetime.now(UTC) + timedelta(seconds=30), lease_seconds=1, limit=50
        ),
    }


async def statements(store: Store, call: Call) -> list[tuple[str, tuple[Any, ...]]]:
    """The SELECTs `call` sends, with their parameters."""
    sent: list[tuple[str, tuple[Any, ...]]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "alembic_version" not in statement:
            sent.append((statement, tuple(parameters or ())))

    engine = store._engine.sync_engine  # a benchmark may look inside
    event.listen(engine, "before_cursor_execute", record)
    try:
        await call(store)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent


async def explain(conn: asyncpg.Connection, statement: str, parameters: tuple[Any, ...]) -> str:
    """The warm plan of `statement`, in a transaction that is rolled back (the claim locks rows)."""
    query = "EXPLAIN (ANALYZE, BUFFERS) " + statement
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.fetch(query, *parameters)
        rows = await conn.fetch(query, *parameters)
    finally:
        await transaction.rollback()
    return "\n".join(row[0] for row in rows)


async def run(url: str, reseed: bool) -> None:
    await seed(url, reseed)
    async with await Store.open(url) as store:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            for title, call in calls().items():
                for statement, parameters in await statements(store, call):
                    print(f"\n### {title}\n\n{statement}\n-- {parameters}\n")
                    print(await explain(conn, statement, parameters))
            await conn.execute("UPDATE sources SET lease_owner = NULL, lease_until = NULL")
        finally:
            await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--reseed", action="store_true", help="Drop and seed the database again.")
    args = parser.parse_args()
    asyncio.run(run(args.url, args.reseed))


if __name__ == "__main__":
    main()
