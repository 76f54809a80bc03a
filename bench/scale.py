"""Scale-out benchmark on PostgreSQL: pollers 1 → 2 → 3 processes, API 1 → 2 processes.

    .venv/bin/python -m bench.scale [--sources 10000] [--minutes 1] [--workers 1,2,3] [--duration 10]
                                    [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
                                    [--only polling|api]     # one half, printed, RESULTS.md untouched

About 8 minutes with the defaults; `--sources 2000 --minutes 0.5 --workers 1,2` is a quick check.

Polling: bench/poll.py's upstream (a separate process; 5 % of sources change per minute), sources and
steady-state phase (fixed 30 s interval, first polls spread over one interval, two intervals of warm-up,
then `--minutes` of steady state), here with 1, 2 and 3 poller processes on one PostgreSQL
database (a fresh copy of one seeded template per run). Reported per run: polls/s, the share of polls
started more than 2 s late, pollers' CPU per 1,000 polls, and how busy the machine was (every process:
PostgreSQL and the upstream, and whatever else runs on it). The per-host limit is raised to the
concurrency: every source shares one local host.

API: `timeline api` processes over a PostgreSQL copy of bench/api.py's 1,000-event timeline, loaded by
wrk (bench/api.py's runner) on the cached first page and the `304` revalidation: two wrk processes at
once with half the connections each (both on the one server, or one per server), req/s summed, so that
the load generator is the same for 1 and 2 servers. Nothing is pinned.

The machine has 2 cores: a second process can at most use the core the first left idle, minus what
PostgreSQL, the upstream and wrk take from it; the ratios say how much of that is realised here, not how
the service scales on bigger machines. Writes `## Scale-out (issue 8)` in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import queue
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import make_url

from bench import api as bench_api
from bench import poll as bench_poll
from bench._cpu import machine_cpu
from bench._results import RESULTS, write_section
from timeline.hub.postgres import asyncpg_dsn
from timeline.store import Store, migrate

DEFAULT_POSTGRES = os.environ.get(
    "TIMELINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
OUT = bench_api.OUT
API_EVENTS = 1_000
API_SLUG = "bench-1k"
WRK_PROCESSES = 2


# --- databases -----------------------------------------------------------------------------------------


def _database(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(_database(server, "postgres")), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def database(server: str, *, template: str | None = None) -> Iterator[str]:
    """A new database on `server` (a copy of `template` if given), dropped on exit; its URL."""
    name = f"tl_bench_scale_{secrets.token_hex(4)}"
    copy = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield _database(server, name)
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- polling -------------------------------------------------------------------------------------------


def _poller(url: str, start: datetime, seconds: float, per_host: int, results: Queue[Any]) -> None:
    """One poller process: bench/poll.py's phase, logging as `timeline worker` does. It is not told the
    source count: that would make it wait for its own first polls of every source, and it gets a share."""
    bench_poll._log_like_a_worker()
    results.put(asyncio.run(bench_poll._phase(url, start, 0, seconds, per_host)))


def _collect(processes: list[multiprocessing.Process], results: Queue[Any]) -> list[dict[str, Any]]:
    """Each process's laps; fails (rather than waits for ever) when one of them dies."""
    laps: list[dict[str, Any]] = []
    while len(laps) < len(processes):
        try:
            laps.append(results.get(timeout=5))
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(
                    f"a poller process exited with {dead[0]}; see its traceback above"
                ) from None
    return laps


def _sum(laps: list[dict[str, float]]) -> dict[str, float]:
    total = {key: sum(lap[key] for lap in laps) for key in laps[0]}
    total["wall"] = max(lap["wall"] for lap in laps)
    return total


def run_pollers(
    template_url: str, start: datetime, workers: int, seconds: float, per_host: int
) -> dict[str, float]:
    """`workers` poller processes on a fresh copy of the template; their steady-state lap, summed."""
    server, template = template_url, make_url(template_url).database
    with database(server, template=template) as url:
        results: Queue[Any] = multiprocessing.Queue()
        processes = [
            multiprocessing.Process(target=_poller, args=(url, start, seconds, per_host, results))
            for _ in range(workers)
        ]
        print(f"  {workers} poller process(es), {seconds / 60:g} min after a warm-up…", flush=True)
        machine = machine_cpu()
        for process in processes:
            process.start()
        try:
            laps = _collect(processes, results)
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
                process.join()
        busy = machine_cpu() - machine
    steady = _sum([lap["steady"] for lap in laps])
    whole = max(sum(phase["wall"] for phase in lap.values()) for lap in laps)
    return {**steady, "machine": busy / whole}


def measure_polling(
    server: str, count: int, minutes: float, workers: list[int]
) -> dict[int, dict[str, float]]:
    port, peak = bench_poll._port(), multiprocessing.Value("i", 0)
    upstream = multiprocessing.Process(
        target=bench_poll._serve_upstream, args=(port, True, peak), daemon=True
    )
    upstream.start()
    try:
        with database(server) as template_url:
            print(f"Seeding {count:,} sources on PostgreSQL…", flush=True)
            start = asyncio.run(bench_poll._seed(template_url, port, count))
            per_host = 100  # the pollers' concurrency: one local host stands for many
            return {n: run_pollers(template_url, start, n, minutes * 60, per_host) for n in workers}
    finally:
        upstream.terminate()
        upstream.join()


def _late_share(run: dict[str, float]) -> float:
    """Late claims over finished polls: capped, since polls still running at the end were claimed (and
    counted late) but not finished."""
    return min(run["late"] / max(run["polls"], 1), 1.0)


def polling_rows(count: int, runs: dict[int, dict[str, float]]) -> list[str]:
    one = runs[min(runs)]["polls"] / runs[min(runs)]["wall"]
    rows = [
        f"Polling {count:,} sources on PostgreSQL (needs {count / bench_poll.INTERVAL:.0f} polls/s):",
        "",
        "| poller processes | polls/s | vs 1 process | polls > 2 s late | pollers' CPU s / 1,000 polls "
        "| machine busy (cores) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n, run in sorted(runs.items()):
        rate = run["polls"] / run["wall"]
        rows.append(
            f"| {n} | {rate:,.1f} | {rate / one:.2f}× | {_late_share(run):.1%} "
            f"| {1000 * run['cpu'] / max(run['polls'], 1):.2f} | {run['machine']:.2f} of {os.cpu_count()} |"
        )
    if one >= 0.95 * count / bench_poll.INTERVAL:
        rows += [
            "",
            "One poller process kept up with the demand (sources / 30 s): more processes add headroom (late "
            "share, CPU), not polls/s. `--sources` above one process's capacity measures how polls/s scale.",
        ]
    return rows


# --- API -----------------------------------------------------------------------------------------------


async def _seed_api(url: str) -> None:
    await migrate(url)
    async with await Store.open(url) as store:
        await bench_api._fill(store, API_SLUG, API_EVENTS)


@contextmanager
def api_processes(url: str, count: int) -> Iterator[list[bench_api.Server]]:
    """`count` `timeline api` processes on the database, each in its own session, stopped on exit."""
    env = {**os.environ, "TIMELINE_DATABASE_URL": url, "TIMELINE_HUB": "postgres"}
    started: list[tuple[subprocess.Popen[bytes], bench_api.Server]] = []
    try:
        for n in range(count):
            port, log = bench_api._free_port(), OUT / f"scale-api-{n + 1}.log"
            with log.open("wb") as sink:
                command = [sys.executable, "-m", "timeline", "api", "--port", str(port)]
                process = subprocess.Popen(
                    command,
                    cwd=bench_api.ROOT,
                    env=env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            base = f"http://127.0.0.1:{port}"
            started.append((process, bench_api.Server("uvicorn", base, process.pid)))
            bench_api._wait_healthy(process, base, log)
        yield [server for _, server in started]
    finally:
        for process, _ in started:
            bench_api._stop(process)


def _loads(base: str) -> dict[str, bench_api.Load]:
    page = bench_api._events_path(API_SLUG, "limit=20")
    with httpx.Client(base_url=base, timeout=60) as client:
        tag = bench_api._get(client, bench_api._events_path(API_SLUG), 200).headers["etag"]
        bench_api._get(client, bench_api._events_path(API_SLUG), 304, {"If-None-Match": tag})
        bench_api._get(client, page, 200)
    return {
        "cached": bench_api.Load("cached", (page,)),
        "304": bench_api.Load("304", (bench_api._events_path(API_SLUG),), (("If-None-Match", tag),)),
    }


def _load_together(
    servers: list[bench_api.Server], name: str, wrk: bench_api.Wrk, seconds: int
) -> tuple[float, float]:
    """Two wrk processes at once, half the connections each, spread over the servers (so the load
    generator is the same for 1 and 2 servers: one wrk thread alone saturates near 12k req/s here);
    (req/s summed, p99 ms max)."""
    loads = {server.base: _loads(server.base)[name] for server in servers}
    targets = [servers[n % len(servers)] for n in range(WRK_PROCESSES)]
    connections = max(wrk.connections // WRK_PROCESSES, 1)
    results: list[bench_api.Result] = []

    def run(server: bench_api.Server) -> None:
        results.append(wrk.run(server, loads[server.base], seconds, connections, 0))

    threads = [threading.Thread(target=run, args=(server,)) for server in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(results) != len(targets):
        raise RuntimeError("a wrk run failed; see above")
    return sum(r.rps for r in results), max(r.p99_ms for r in results)


def measure_api(
    server: str, duration: int, repeat: int, connections: int
) -> dict[tuple[int, str], tuple[float, float]]:
    wrk = bench_api.Wrk(connections, 10, None)
    found: dict[tuple[int, str], tuple[float, float]] = {}
    with database(server) as url:
        print(f"Seeding {API_EVENTS:,} events for the API on PostgreSQL…", flush=True)
        asyncio.run(_seed_api(url))
        for count in (1, 2):
            with api_processes(url, count) as servers:
                for name in ("cached", "304"):
                    _load_together(servers, name, wrk, 2)  # warm-up
                    runs = [_load_together(servers, name, wrk, duration) for _ in range(repeat)]
                    found[count, name] = max(runs)
                    print(
                        f"  {count} API process(es), {name}: {found[count, name][0]:,.0f} req/s", flush=True
                    )
    return found


def api_rows(found: dict[tuple[int, str], tuple[float, float]], connections: int) -> list[str]:
    rows = [
        f"API on PostgreSQL, {API_EVENTS:,}-event timeline; "
        f"{WRK_PROCESSES} × wrk, {connections} connections:",
        "",
        "| load | 1 process req/s | p99 | 2 processes req/s | p99 | 2 vs 1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("cached", "cached first page (20 events)"), ("304", "`304` revalidation")):
        (one, p99_one), (two, p99_two) = found[1, name], found[2, name]
        rows.append(
            f"| {label} | {one:,.0f} | {p99_one:.1f} ms | {two:,.0f} | {p99_two:.1f} ms | {two / one:.2f}× |"
        )
    return rows


# --- main ----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=1.0, help="Steady-state minutes per poller run.")
    parser.add_argument("--workers", default="1,2,3", help="Poller process counts to run, comma-separated.")
    parser.add_argument("--duration", type=int, default=10, help="Seconds per measured wrk run.")
    parser.add_argument("--repeat", type=int, default=2, help="wrk runs per load; the best counts.")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="Server URL; databases are made on it.")
    parser.add_argument("--only", choices=("polling", "api"), help="Run one half; print, write nothing.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, bench_api._exit_on_sigterm)  # unwind: stop servers, drop databases
    if not shutil.which("wrk"):
        sys.exit("bench/scale.py needs wrk: apt-get install -y wrk")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    workers = sorted({int(n) for n in args.workers.split(",")})
    polling, api = [], []
    if args.only != "api":
        runs = measure_polling(args.postgres, args.sources, args.minutes, workers)
        polling = polling_rows(args.sources, runs)
    if args.only != "polling":
        api = api_rows(
            measure_api(args.postgres, args.duration, args.repeat, args.connections), args.connections
        )
    rows = [*polling, "", *api] if polling and api else polling or api
    print("", *rows, sep="\n")
    if args.only:
        return
    notes = (
        f"PostgreSQL {_server_version(args.postgres)} on the same machine; nothing pinned; "
        f"{(time.monotonic() - started) / 60:.1f} min in all. Two cores shared by the pollers or API "
        "processes, PostgreSQL, the upstream and wrk: the ratios show how much a second process gains "
        "here, where it can at best take the core the first left idle."
    )
    write_section(
        args.out, "Scale-out (issue 8)", "python -m bench.scale " + " ".join(sys.argv[1:]), notes, rows
    )


def _server_version(server: str) -> str:
    async def version() -> str:
        conn = await asyncpg.connect(asyncpg_dsn(_database(server, "postgres")), timeout=10)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    with contextlib.suppress(OSError, asyncpg.PostgresError):
        return asyncio.run(version()).split()[0]
    return "(version unknown)"


if __name__ == "__main__":
    main()
