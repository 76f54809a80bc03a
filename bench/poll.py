"""Poll benchmark: one poller against many sources on a local upstream in a separate process.

    .venv/bin/python -m bench.poll [--sources 5000] [--minutes 3] [--out bench/RESULTS.md]

The upstream serves one small WordPress-liveblog JSON document per source, with an ETag, and changes
5 % of the sources per minute. The poller is the real one (claims on APScheduler's schedule, the real
fetcher, a SQLite file, one log line per fetch and per poll as `timeline worker` writes them, here to
/dev/null), with a fixed 30 s interval (base = ceiling), so the load stays sources / 30 polls a second.

Steady state, not a cold start: the sources' first polls are spread evenly over one interval, as in a
poller that has been running for a while (sources added at one instant would start as one burst). The
first interval (mostly first polls: a 200 and 5 new events each) is measured on its own; then, once every
source has had its first poll, one more interval lets any backlog clear. Then unchanged sources (all
304) are measured for half of `--minutes`, changing ones for all of it. Reported: polls/s sustained,
the share of polls started more than 2 s late (target < 1 %), CPU seconds per 1,000 polls (first polls,
unchanged sources, changing sources), and the most concurrent requests the upstream saw (limit:
per-host).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import orjson

from bench._cpu import machine_cpu, tree_cpu
from bench._results import RESULTS, write_section
from feeds.fetch import Fetcher, FetchPolicy
from timeline.metrics import Metrics
from timeline.poller import ParsePool, Pipeline, Reader
from timeline.poller.parsing import default_workers
from timeline.poller.schedule import ScheduleSettings
from timeline.poller.scheduler import Poller, PollerSettings
from timeline.store import Store, migrate

CHANGE_SHARE_PER_MINUTE = 0.05
INTERVAL = 30.0  # seconds between polls of a source: fixed, so the load does not fall as sources go quiet
OUTCOMES = ("changed", "unchanged", "not_modified", "failed")


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


async def _seed(url: str, port: int, count: int) -> datetime:
    """Sources due one after the other over one interval from the moment returned (their schedule's start)."""
    await migrate(url)
    start = datetime.now(UTC)
    async with await Store.open(url) as store:
        timeline = await store.create_timeline("Bench", slug="bench", now=start)
        for n in range(count):
            due = start + timedelta(seconds=INTERVAL * n / count)
            await store.add_source(timeline.id, f"http://127.0.0.1:{port}/s/{n}", "wordpress", now=due)
            if n % 1000 == 999:
                print(f"  seeded {n + 1:,} sources", file=sys.stderr, flush=True)
    return start


def _log_like_a_worker() -> None:
    """The one line per fetch and per poll that `timeline worker` logs, formatted and written (to nowhere)."""
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    for name in ("feeds.fetch", "timeline"):
        logging.getLogger(name).setLevel(logging.INFO)


class _Meter:
    """Polls by outcome, late polls, CPU and wall time since the last `lap`."""

    def __init__(self, metrics: Metrics, upstream: int) -> None:
        self._metrics = metrics
        self._upstream = upstream
        self._last = self._read()

    def _read(self) -> dict[str, float]:
        counts = {o: self._metrics.polls.labels(o)._value.get() for o in OUTCOMES}
        late = self._metrics.late_polls._value.get()
        # This process and its parse workers (parsing runs there), not the upstream it also started.
        cpu = tree_cpu(os.getpid(), without=(self._upstream,))
        clock = {"cpu": cpu, "wall": time.perf_counter(), "busy": machine_cpu()}
        return {**counts, "late": late, **clock}

    def total(self) -> float:
        return sum(self._metrics.polls.labels(o)._value.get() for o in OUTCOMES)

    def lap(self) -> dict[str, float]:
        now = self._read()
        lap = {key: now[key] - self._last[key] for key in now}
        self._last = now
        return {**lap, "polls": sum(lap[o] for o in OUTCOMES)}


async def _phase(
    url: str, start: datetime, count: int, seconds: float, per_host: int, upstream: int
) -> dict[str, dict[str, float]]:
    """The first interval, the rest of the warm-up, then `seconds` of steady state, on a clock that begins
    at `start`."""
    metrics = Metrics()
    schedule = ScheduleSettings(base_interval=INTERVAL, max_interval=INTERVAL)
    settings = PollerSettings(schedule=schedule, concurrency=100, per_host=per_host, lease_seconds=120)
    offset = datetime.now(UTC) - start

    def clock() -> datetime:
        return datetime.now(UTC) - offset

    async with (
        await Store.open(url) as store,
        Fetcher(FetchPolicy(allow_private=True)) as fetcher,
        ParsePool(default_workers()) as pool,
    ):
        polls = Pipeline(store, Reader(fetcher, pool), metrics=metrics, schedule=schedule, clock=clock)
        poller = Poller(store, polls, settings, metrics=metrics, clock=clock)
        meter = _Meter(metrics, upstream)
        poller.start()
        await asyncio.sleep(INTERVAL)
        first = meter.lap()
        while meter.total() < count:  # every source's first poll
            await asyncio.sleep(1.0)
        await asyncio.sleep(INTERVAL)
        settling = meter.lap()
        await asyncio.sleep(seconds)
        steady = meter.lap()
        await poller.stop()
    return {"first": first, "settling": settling, "steady": steady}


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_phase(count: int, minutes: float, changing: bool, per_host: int) -> dict[str, dict[str, float]]:
    port, peak = _port(), multiprocessing.Value("i", 0)
    upstream = multiprocessing.Process(target=_serve_upstream, args=(port, changing, peak), daemon=True)
    upstream.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'poll.db'}"
            start = asyncio.run(_seed(url, port, count))
            label = "changing" if changing else "unchanged"
            print(f"  polling {count:,} sources ({label}) for {minutes} min…", file=sys.stderr, flush=True)
            assert upstream.pid is not None
            laps = asyncio.run(_phase(url, start, count, minutes * 60, per_host, upstream.pid))
            laps["steady"]["peak"] = peak.value
            return laps
    finally:
        upstream.terminate()
        upstream.join()


def _per_thousand(lap: dict[str, float]) -> str:
    return f"{1000 * lap['cpu'] / max(lap['polls'], 1):.2f}"


def _late(*laps: dict[str, float]) -> str:
    return f"{sum(lap['late'] for lap in laps) / max(sum(lap['polls'] for lap in laps), 1):.2%}"


def _rows(
    count: int, unchanged: dict[str, dict[str, float]], changing: dict[str, dict[str, float]], per_host: int
) -> list[str]:
    quiet, busy, first = unchanged["steady"], changing["steady"], changing["first"]
    needed = count / INTERVAL
    return [
        "| measurement | value | target |",
        "|---|---:|---:|",
        f"| sources (fixed 30 s interval) | {count:,} | |",
        f"| polls/s sustained (changing phase) | {busy['polls'] / busy['wall']:.1f} | ≥ {needed:.1f} |",
        f"| polls more than 2 s late (unchanged, changing phase) | {_late(quiet, busy)} "
        f"({_late(quiet)}, {_late(busy)}) | < 1 % |",
        f"| CPU s per 1,000 polls, unchanged sources (304) | {_per_thousand(quiet)} | |",
        f"| CPU s per 1,000 polls, 5 %/min changing | {_per_thousand(busy)} | |",
        "| polls changed / unchanged / 304 / failed (changing phase) | "
        + " / ".join(f"{busy[kind]:.0f}" for kind in OUTCOMES)
        + " | |",
        f"| first interval: polls/s (mostly first polls: 200, 5 new events) | "
        f"{first['polls'] / first['wall']:.1f} | ({needed:.1f} due) |",
        f"| first interval: polls more than 2 s late | {_late(first)} | |",
        f"| first interval: CPU s per 1,000 polls | {_per_thousand(first)} | |",
        f"| peak concurrent requests at the upstream host | {max(quiet['peak'], busy['peak']):.0f} "
        f"| ≤ {per_host} (per-host limit) |",
        f"| cores busy, changing phase: this poller / whole machine | {busy['cpu'] / busy['wall']:.2f} / "
        f"{busy['busy'] / busy['wall']:.2f} of {os.cpu_count()} | |",
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
    _log_like_a_worker()
    unchanged = run_phase(args.sources, args.minutes / 2, False, args.per_host)
    changing = run_phase(args.sources, args.minutes, True, args.per_host)
    rows = _rows(args.sources, unchanged, changing, args.per_host)
    print("\n".join(rows))
    notes = (
        "Upstream in a separate process on 127.0.0.1 (one host); SQLite file; one poller process; "
        "steady state after a warm-up (see the module docstring)."
    )
    write_section(
        args.out, "Polling (issue 5)", "python -m bench.poll " + " ".join(sys.argv[1:]), notes, rows
    )


if __name__ == "__main__":
    main()
