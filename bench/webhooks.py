"""Webhook benchmark: many subscriptions on one timeline, a writer at a steady rate, one delivering process.

    .venv/bin/python -m bench.webhooks [--subscriptions 100[,N…]] [--per-host 4[,N…]]
                                       [--rate 5] [--seconds 30] [--no-postgres]

For each backend: SQLite with `timeline serve` (API, pollers and deliverer in one process), and
PostgreSQL with `timeline api` plus one `timeline worker` (the `postgres` hub wakes the worker's
deliverer). `--subscriptions` webhooks of one timeline all point at one receiver process on 127.0.0.1
(tests/timeline/webhooks/receiver.py), which verifies every delivery with the `standardwebhooks` library.
The writer posts editorial updates through the API at `--rate` a second for `--seconds`.

Reported: deliveries/s (every delivery, over the time from the first commit to the last 2xx), the
latency from commit to the receiver's 2xx, p50 / p99 / max over every delivery, and the CPU time the
delivering process (`serve`, which also answers the writer, or the worker) and the receiver spent per
delivery while the writer wrote and the deliveries arrived: what the machine's load changes least. A
change's commit time is when the API's answer to its POST arrived (the commit happened before it), so
latencies are a little short of the truth by the answer's trip back (≈1 ms here). Every delivery must
verify, and each subscription must get every change: otherwise the run fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench._cpu import group_cpu
from bench._results import RESULTS, write_section
from bench.api import _free_port, _stop, _wait_healthy
from bench.ingest import _postgres_database
from timeline.store import migrate

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
WAIT = 120.0  # seconds for the last deliveries after the writer stops


def _env(database_url: str, hub: str, per_host: int) -> dict[str, str]:
    kept = {name: value for name, value in os.environ.items() if not name.startswith("TIMELINE_")}
    return {
        **kept,
        "TIMELINE_DATABASE_URL": database_url,
        "TIMELINE_API_KEYS": KEY,
        "TIMELINE_ALLOW_PRIVATE_SOURCES": "1",
        "TIMELINE_HUB": hub,
        "TIMELINE_LOG_LEVEL": "WARNING",
        "TIMELINE_WEBHOOK_CONCURRENCY": str(per_host),
    }


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", *args], env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        _stop(process)


@contextmanager
def _receiver(workdir: Path) -> Iterator[tuple[str, int]]:
    """The receiver's URL and process (group) id."""
    port_file = workdir / "receiver.port"
    args = ["tests.timeline.webhooks.receiver", str(port_file)]
    with _process(args, dict(os.environ), workdir / "rx.log") as receiver:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("the receiver did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text()}", receiver.pid


@contextmanager
def _service(backend: str, url: str, workdir: Path, per_host: int) -> Iterator[tuple[str, int]]:
    """The API's base URL and the delivering process's (group) id: `serve`, or a worker beside `api`."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    if backend == "sqlite":
        env = _env(url, "memory", per_host)
        with _process(["timeline", "serve", "--port", str(port)], env, workdir / "serve.log") as serve:
            _wait_healthy(serve, base, workdir / "serve.log")
            yield base, serve.pid
        return
    env = _env(url, "postgres", per_host)
    with (
        _process(["timeline", "api", "--port", str(port)], env, workdir / "api.log") as api,
        _process(["timeline", "worker"], env, workdir / "worker.log") as worker,
    ):
        _wait_healthy(api, base, workdir / "api.log")
        yield base, worker.pid


async def _subscribe(http: httpx.AsyncClient, rx: httpx.AsyncClient, timeline: str, count: int) -> list[str]:
    names = [f"s{n}" for n in range(count)]
    for name in names:
        hook = await http.post(
            f"/api/v1/timelines/{timeline}/webhooks", json={"url": str(rx.base_url.join(f"/hooks/{name}"))}
        )
        hook.raise_for_status()
        (await rx.put(f"/control/{name}", json={"secrets": [hook.json()["secret"]]})).raise_for_status()
    return names


async def _write(http: httpx.AsyncClient, timeline: str, rate: float, seconds: float) -> dict[int, float]:
    """Post at `rate` a second for `seconds`; each change's seq → when its commit was answered."""
    committed: dict[int, float] = {}
    start = time.time()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - time.time()))
        posted = await http.post(
            f"/api/v1/timelines/{timeline}/events", json={"body_html": f"<p>Update {n}</p>"}
        )
        posted.raise_for_status()
        committed[posted.json()["seq"]] = time.time()
    return committed


async def _collect(
    rx: httpx.AsyncClient, names: list[str], seqs: set[int]
) -> dict[str, list[dict[str, Any]]]:
    """Every subscription's deliveries, once each has had every change."""
    deadline = time.monotonic() + WAIT
    while True:
        # Counted first (one small answer), so that waiting costs the receiver next to nothing.
        while min((await rx.get("/answered")).json().values()) < len(seqs) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        received = {name: (await rx.get(f"/received/{name}")).json() for name in names}
        if all(seqs <= {r["seq"] for r in got if r["status"] == 200} for got in received.values()):
            return received
        if time.monotonic() > deadline:
            short = {name: len(seqs - {r["seq"] for r in got}) for name, got in received.items()}
            raise RuntimeError(f"deliveries missing after {WAIT:g} s: {short}")
        await asyncio.sleep(0.5)


async def run_one(
    backend: str, url: str, subscriptions: int, rate: float, seconds: float, per_host: int
) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        workdir = Path(tmp)
        await migrate(url)
        with _receiver(workdir) as (rx_url, rx_pid), _service(backend, url, workdir, per_host) as (base, pid):
            async with (
                httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as http,
                httpx.AsyncClient(base_url=rx_url, timeout=30) as rx,
            ):
                timeline = (await http.post("/api/v1/timelines", json={"title": "Bench"})).json()["id"]
                names = await _subscribe(http, rx, timeline, subscriptions)
                before = group_cpu(pid), group_cpu(rx_pid)
                committed = await _write(http, timeline, rate, seconds)
                received = await _collect(rx, names, set(committed))
                cpu = group_cpu(pid) - before[0], group_cpu(rx_pid) - before[1]
    return _row(backend, subscriptions, rate, per_host, committed, received, cpu)


def _row(
    backend: str,
    subscriptions: int,
    rate: float,
    per_host: int,
    committed: dict[int, float],
    received: dict[str, list[dict[str, Any]]],
    cpu: tuple[float, float],
) -> str:
    deliveries = [r for got in received.values() for r in got if r["seq"] in committed]
    unverified = sum(not r["verified"] for r in deliveries)
    if unverified:
        raise RuntimeError(f"{unverified} deliveries did not verify")
    latencies = sorted(r["ended"] - committed[r["seq"]] for r in deliveries if r["status"] == 200)
    span = max(r["ended"] for r in deliveries) - min(committed.values())
    p50, p99 = statistics.quantiles(latencies, n=100)[49], statistics.quantiles(latencies, n=100)[98]
    target = "met" if p99 <= 1.0 else "missed"
    return (
        f"| {backend} | {subscriptions} | {per_host} | {rate:g}/s | {len(deliveries):,} | "
        f"{len(deliveries) / span:,.0f} | {p50 * 1000:,.0f} | {p99 * 1000:,.0f} | "
        f"{latencies[-1] * 1000:,.0f} | {target} | {cpu[0] * 1000 / len(deliveries):.2f} | "
        f"{cpu[1] * 1000 / len(deliveries):.2f} |"
    )


@asynccontextmanager
async def _database(backend: str, postgres: str, tmp: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        return
    url, drop = await _postgres_database(postgres)
    try:
        yield url
    finally:
        await drop()  # type: ignore[misc]


async def run(
    backends: list[str], postgres: str, counts: list[int], rate: float, seconds: float, per_hosts: list[int]
) -> list[str]:
    rows = [
        "| backend | subscriptions | per host | writer | deliveries | deliveries/s | p50 ms | p99 ms "
        "| max ms | p99 ≤ 1 s | deliverer CPU ms / delivery | receiver CPU ms / delivery |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for backend, subscriptions, per_host in itertools.product(backends, counts, per_hosts):
        with tempfile.TemporaryDirectory() as tmp:
            async with _database(backend, postgres, Path(tmp)) as url:
                rows.append(await run_one(backend, url, subscriptions, rate, seconds, per_host))
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscriptions", default="100", help="Subscription counts to run, comma-separated.")
    parser.add_argument("--rate", type=float, default=5.0, help="Changes a second.")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--per-host",
        default="4",
        help="TIMELINE_WEBHOOK_CONCURRENCY values to run with, comma-separated (every receiver is one host).",
    )
    parser.add_argument("--notes", default="", help="Said beside the machine: e.g. what else ran.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    backends = ["sqlite"] if args.no_postgres else ["sqlite", "postgres"]
    per_hosts = [int(value) for value in args.per_host.split(",")]
    load = "Load average before the run: {:.1f} / {:.1f} / {:.1f} (1 / 5 / 15 min).".format(*os.getloadavg())
    counts = [int(value) for value in args.subscriptions.split(",")]
    rows = asyncio.run(run(backends, args.postgres, counts, args.rate, args.seconds, per_hosts))
    command = "python -m bench.webhooks " + " ".join(sys.argv[1:])
    notes = (
        "Receiver, API/serve, worker and writer share the machine; latency is from the commit's answer to "
        f"the receiver's 2xx, over every delivery. {load} {args.notes}"
    )
    with contextlib.suppress(KeyboardInterrupt):
        write_section(args.out, "Webhooks", command, notes.strip(), rows)


if __name__ == "__main__":
    main()
