"""Ingest benchmark: parse+normalize events/s per adapter, store.apply events/s on SQLite and PostgreSQL,
and what parsing in the worker pool costs beside parsing in-process (bench/_pool.py).

    .venv/bin/python -m bench.ingest [--events 5000] [--postgres URL | --no-postgres]
                                     [--no-pool] [--pool-runs 500] [--quiet-wait 20] [--out bench/RESULTS.md]

The documents are synthetic (written here, 1–2 KB of HTML per update), in each adapter's wire format.
Targets: parse+normalize ≥ 20,000 events/s on one core; SQLite apply ≥ 10,000 new events/s;
re-applying an unchanged snapshot ≥ 10× faster than the first apply. The parse pool: a one-update
document costs ≤ 2 ms more through the pool than in-process (p50 over `--pool-runs` pairs of runs).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson

from bench._pool import pool_rows
from bench._results import RESULTS, write_section
from feeds.adapters import parse
from timeline.models import EventDraft
from timeline.normalize import normalize
from timeline.store import Store, migrate

START = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)
PARAGRAPH = (
    "<p>Polls have closed in the eastern states and the first <strong>results</strong> are coming in. "
    "Our correspondents report long queues in <a href='/live/queues'>several districts</a>, "
    "and officials say counting will continue through the night.</p>"
)


def _body(i: int) -> str:
    """A distinct ~1.2 KB body per update, so no cache can stand in for the work."""
    return PARAGRAPH * 4 + f"<ul><li>Turnout: {i % 97}%</li><li>Update number {i}</li></ul>"


def _time(i: int) -> datetime:
    return START + timedelta(seconds=7 * i)


def guardian_doc(n: int) -> bytes:
    blocks = [
        {
            "id": f"blk{i:06d}",
            "firstPublishedDate": _time(i).isoformat().replace("+00:00", "Z"),
            "lastModifiedDate": _time(i).isoformat().replace("+00:00", "Z"),
            "title": f"Update {i}",
            "attributes": {"keyEvent": i % 25 == 0, "pinned": False},
            "bodyHtml": _body(i),
        }
        for i in reversed(range(n))
    ]
    content = {
        "webTitle": "Election night live",
        "webUrl": "https://news.example/live/election",
        "fields": {"liveBloggingNow": "true"},
        "blocks": {"body": blocks, "totalBodyBlocks": n},
    }
    return orjson.dumps({"response": {"status": "ok", "content": content}})


def jsonld_doc(n: int) -> bytes:
    updates = [
        {
            "@type": "BlogPosting",
            "url": f"https://news.example/live/election#post{i}",
            "datePublished": _time(i).isoformat(),
            "headline": f"Update {i}",
            "articleBody": _body(i),
        }
        for i in range(n)
    ]
    blog = {"@context": "https://schema.org", "@type": "LiveBlogPosting", "liveBlogUpdate": updates}
    script = orjson.dumps(blog).decode()
    html = f'<html><head><script type="application/ld+json">{script}</script></head><body></body></html>'
    return html.encode()


def rss_doc(n: int) -> bytes:
    items = "".join(
        f"<item><guid>https://news.example/live/{i}</guid><title>Update {i}</title>"
        f"<pubDate>{_time(i).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
        f"<description><![CDATA[{_body(i)}]]></description></item>"
        for i in range(n)
    )
    channel = f"<channel><title>Live</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def wordpress_doc(n: int) -> bytes:
    entries = [
        {
            "id": str(i),
            "type": "new",
            "entry_time": int(_time(i).timestamp()),
            "render": _body(i),
            "key_event": False,
        }
        for i in range(n)
    ]
    return orjson.dumps({"entries": entries, "latest_timestamp": int(_time(n).timestamp())})


DOCUMENTS: dict[str, Callable[[int], bytes]] = {
    "guardian": guardian_doc,
    "jsonld": jsonld_doc,
    "syndication": rss_doc,
    "wordpress": wordpress_doc,
}
LARGE, LARGE_RUNS = 2_000, 5  # the pool's throughput: updates per document, pairs of runs
POOL_NOTES = (
    "**Parse pool.** `ParsePool.parse` (one warm worker, forkserver) beside `run_job` in this process, "
    "taken in alternation; the pool's side includes the event loop → thread → worker → thread → loop "
    "round trip and pickling the job and the drafts. Others' CPU: cores' worth used by other processes "
    "meanwhile (the machine is shared; each hand-off between processes waits for a core, so a busy "
    "machine lengthens the pool's side more than the in-process one). Each row waits (at most "
    "`--quiet-wait` s) for a second in which others use < 0.3 core."
)


def bench_parse(name: str, n: int) -> tuple[float, list[EventDraft]]:
    body = DOCUMENTS[name](n)
    started = time.perf_counter()
    snapshot = parse(body, "https://news.example/live/election", adapter=name)
    drafts = normalize(snapshot, source_id="src_bench", now=START)
    elapsed = time.perf_counter() - started
    assert len(drafts) == n, (name, len(drafts))
    return n / elapsed, drafts


async def bench_apply(url: str, drafts: list[EventDraft]) -> tuple[float, float]:
    """New events/s for the first apply, and the speed-up of re-applying the same snapshot."""
    await migrate(url)
    async with await Store.open(url) as store:
        timeline = await store.create_timeline("Bench", slug=f"bench-{uuid.uuid4().hex[:8]}")
        source = await store.add_source(timeline.id, "https://news.example/live/election", "guardian")
        fresh = [d.model_copy(update={"source_id": source.id}) for d in drafts]
        started = time.perf_counter()
        await store.apply(source.id, fresh, complete=True, now=START)
        first = time.perf_counter() - started
        started = time.perf_counter()
        result = await store.apply(source.id, fresh, complete=True, now=START)
        again = time.perf_counter() - started
        assert result.new == result.updated == result.deleted == 0
    return len(drafts) / first, first / again


async def _postgres_database(base: str) -> tuple[str, Callable[[], object]]:
    name = f"tl_bench_{uuid.uuid4().hex[:8]}"
    dsn = base.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    return base.rsplit("/", 1)[0] + f"/{name}", drop


async def run(n: int, postgres: str | None, pool_runs: int, quiet_wait: float) -> list[str]:
    rows = ["| measurement | events/s | ratio |", "|---|---:|---:|"]
    parsed: dict[str, list[EventDraft]] = {}
    for name in DOCUMENTS:
        rate, parsed[name] = bench_parse(name, n)
        rows.append(
            f"| parse+normalize `{name}` ({n:,} updates) | {rate:,.0f} | {rate / 20_000:.2f}× target |"
        )
        print(rows[-1], flush=True)
    drafts = parsed["guardian"]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        rate, speedup = await bench_apply(url, drafts)
    rows.append(f"| SQLite `store.apply`, {n:,} new events | {rate:,.0f} | {rate / 10_000:.2f}× target |")
    rows.append(f"| SQLite re-apply unchanged vs first apply | | {speedup:.1f}× faster |")
    print(*rows[-2:], sep="\n", flush=True)
    if postgres:
        url, drop = await _postgres_database(postgres)
        try:
            rate, speedup = await bench_apply(url, drafts)
        finally:
            await drop()  # type: ignore[misc]
        rows.append(f"| PostgreSQL `store.apply`, {n:,} new events | {rate:,.0f} | |")
        rows.append(f"| PostgreSQL re-apply unchanged vs first apply | | {speedup:.1f}× faster |")
        print(*rows[-2:], sep="\n", flush=True)
    if pool_runs:
        rows += ["", POOL_NOTES, "", *await pool_rows(DOCUMENTS, pool_runs, LARGE, LARGE_RUNS, quiet_wait)]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # An adapter keeps at most 5,000 updates of one document (the newest), and the counts below must be
    # the document's own.
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-pool", action="store_true", help="Skip the parse pool's tables.")
    parser.add_argument("--pool-runs", type=int, default=500, help="Pairs of runs per small document.")
    parser.add_argument(
        "--quiet-wait", type=float, default=20, help="Seconds to wait at most for other work to stop."
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    pool_runs = 0 if args.no_pool else args.pool_runs
    postgres = None if args.no_postgres else args.postgres
    rows = asyncio.run(run(args.events, postgres, pool_runs, args.quiet_wait))
    command = "python -m bench.ingest " + " ".join(sys.argv[1:])
    write_section(args.out, "Ingest (issue 3)", command, "One process, one core.", rows)


if __name__ == "__main__":
    main()
