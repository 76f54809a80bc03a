"""Poll benchmark: one poller against many sources on a local upstream in a separate process.

    .venv/bin/python -m bench.poll [--sources 5000] [--minutes 3] [--out bench/RESULTS.md]

The upstream serves one small WordPress-liveblog JSON document per source, with an ETag, and changes
5 % of the sources per minute. The poller is the real one (`Poller.tick` on APScheduler's schedule,
the real fetcher, SQLite file), with base interval 30 s. Reported: polls/s sustained, the share of
polls started more than 2 s late (target < 1 %), CPU seconds per 1,000 polls for unchanged and for
changed sources (two phases), and the most concurrent requests the upstream saw (limit: per-host).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import orjson

from bench._results import RESULTS, write_section
from feeds.fetch import Fetcher, FetchPolicy
from timeline.metrics import Metrics
from timeline.poller import Ingestor
from timeline.poller.schedule import ScheduleSettings
from timeline.poller.scheduler import Poller, PollerSettings
from timeline.store import Store, migrate

CHANGE_SHARE_PER_MINUTE = 0.05


def _version(source: int, started: float, changing: bool) -> int:
    """Which version of the document a source serves now: each source changes once per 20 minutes
    (5 % per minute), at its own offset, or never in the unchanged phase."""
    if not changing:
        return 0
    period = 60.0 / CHANGE_SHARE_PER_MINUTE
    return int((time.time() - started + (source * 7.919) % period) // period)


def _document(source: int, version: int) -> bytes:
    entries = [
        {
            "id": str(n),
            "type": "new",
            "entry_time": 1_764_000_000 + n * 60,
            "render": f"<p>Source {source}, update {n}: the count goes on in district {n % 17}.</p>",
        }
        for n in range(version + 5)
    ]
    return orjson.dumps({"entries": entries})


async def _upstream(port: int, changing: bool, peak: Synchronized[int]) -> None:
    started, inflight = time.time(), [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                inflight[0] += 1
                peak.value = max(peak.value, inflight[0])
                try:
                    await _answer(writer, head.split(b" ", 2)[1].decode(), head, started, changing)
                finally:
                    inflight[0] -= 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


async def _answer(
    writer: asyncio.StreamWriter, path: str, head: bytes, started: float, changing: bool
) -> None:
    if not path.startswith("/s/"):
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        return
    source = int(path[3:])
    version = _version(source, started, changing)
    etag = b'"%d-%d"' % (source, version)
    if b"if-none-match: " + etag in head.lower():
        writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n")
        return
    body = _document(source, version)
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: %s\r\nContent-Length: %d\r\n\r\n%s"
        % (etag, len(body), body)
    )
    await writer.drain()


def _serve_upstream(port: int, changing: bool, peak: Synchronized[int]) -> None:
    asyncio.run(_upstream(port, changing, peak))


async def _seed(url: str, port: int, count: int) -> None:
    await migrate(url)
    async with await Store.open(url) as store:
        timeline = await store.create_timeline("Bench", slug="bench")
        for n in range(count):
            await store.add_source(timeline.id, f"http://127.0.0.1:{port}/s/{n}", "wordpress")
            if n % 1000 == 999:
                print(f"  seeded {n + 1:,} sources", file=sys.stderr, flush=True)


async def _phase(url: str, seconds: float, per_host: int) -> dict[str, float]:
    metrics = Metrics()
    settings = PollerSettings(
        schedule=ScheduleSettings(base_interval=30.0), concurrency=100, per_host=per_host, lease_seconds=120
    )
    async with await Store.open(url) as store, Fetcher(FetchPolicy(allow_private=True)) as fetcher:
        poller = Poller(store, Ingestor(store, fetcher), settings, metrics=metrics)
        cpu, wall = time.process_time(), time.perf_counter()
        poller.start()
        await asyncio.sleep(seconds)
        await poller.stop()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    polls = {
        o: metrics.polls.labels(o)._value.get() for o in ("changed", "unchanged", "not_modified", "failed")
    }
    total = sum(polls.values())
    return {"polls": total, "wall": wall, "cpu": cpu, "late": metrics.late_polls._value.get(), **polls}


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_phase(count: int, minutes: float, changing: bool, per_host: int) -> dict[str, float]:
    port, peak = _port(), multiprocessing.Value("i", 0)
    upstream = multiprocessing.Process(target=_serve_upstream, args=(port, changing, peak), daemon=True)
    upstream.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'poll.db'}"
            asyncio.run(_seed(url, port, count))
            label = "changing" if changing else "unchanged"
            print(f"  polling {count:,} sources ({label}) for {minutes} min…", file=sys.stderr, flush=True)
            return {**asyncio.run(_phase(url, minutes * 60, per_host)), "peak": peak.value}
    finally:
        upstream.terminate()
        upstream.join()


def _rows(count: int, unchanged: dict[str, float], changing: dict[str, float], per_host: int) -> list[str]:
    def per_thousand(phase: dict[str, float]) -> str:
        return f"{1000 * phase['cpu'] / max(phase['polls'], 1):.2f}"

    both = unchanged["polls"] + changing["polls"]
    peak = max(unchanged["peak"], changing["peak"])
    late = (unchanged["late"] + changing["late"]) / max(both, 1)
    return [
        "| measurement | value | target |",
        "|---|---:|---:|",
        f"| sources | {count:,} | |",
        f"| polls/s sustained (changing phase) | {changing['polls'] / changing['wall']:.1f} | |",
        f"| polls more than 2 s late | {late:.2%} | < 1 % |",
        f"| CPU s per 1,000 polls, unchanged sources (304) | {per_thousand(unchanged)} | |",
        f"| CPU s per 1,000 polls, 5 %/min changing | {per_thousand(changing)} | |",
        "| polls changed / unchanged / 304 / failed | "
        + " / ".join(f"{changing[kind]:.0f}" for kind in ("changed", "unchanged", "not_modified", "failed"))
        + " | |",
        f"| peak concurrent requests at the upstream host | {peak:.0f} | ≤ {per_host} (per-host limit) |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=5000)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    unchanged = run_phase(args.sources, args.minutes / 2, False, args.per_host)
    changing = run_phase(args.sources, args.minutes, True, args.per_host)
    rows = _rows(args.sources, unchanged, changing, args.per_host)
    print("\n".join(rows))
    notes = "Upstream in a separate process on 127.0.0.1; SQLite file; one poller process."
    write_section(
        args.out, "Polling (issue 5)", "python -m bench.poll " + " ".join(sys.argv[1:]), notes, rows
    )


if __name__ == "__main__":
    main()
