"""The parse pool's cost beside parsing in-process, for bench/ingest.py's second table.

Every comparison is measured in pairs, one run in-process (`run_job`) and one through the pool
(`ParsePool.parse`) in turn, so that a disturbance on this shared machine touches both sides alike.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bench._cpu import group_cpu, machine_cpu
from feeds.errors import ParseTimeoutError
from timeline.poller.parsing import ParseJob, ParseLimits, ParsePool, run_job

SMALL_SIZES = (1, 20)
SMALL_TARGET_MS = 2.0  # a one-update document may cost this much more through the pool
# A worker is replaced after a job that outlasts this budget: long enough for a freshly forked worker's
# first small job on a busy machine, far shorter than parsing SLOW_UPDATES anywhere.
REPLACE_BUDGET = 0.5
SLOW_UPDATES = 5_000
NOW = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)
Documents = dict[str, Callable[[int], bytes]]  # adapter name → a document of n updates in its format


def make_job(name: str, body: bytes) -> ParseJob:
    return ParseJob(body, "https://news.example/live/election", "src_bench", NOW, adapter=name)


@dataclass(frozen=True)
class Pair:
    """Seconds per run, in-process and through the pool, taken in alternation."""

    here: list[float]
    pool: list[float]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def _p99(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


class Others:
    """Cores' worth of CPU that processes outside our group (this one, its forkserver and workers) used."""

    def __init__(self) -> None:
        self._group = os.getpgrp()
        self._start = (machine_cpu(), group_cpu(self._group), time.monotonic())

    def cores(self) -> float:
        machine, ours, started = self._start
        busy = machine_cpu() - machine - (group_cpu(self._group) - ours)
        return max(0.0, busy) / max(time.monotonic() - started, 1e-9)


async def wait_quiet(limit: float, threshold: float = 0.3) -> None:
    """Until other processes use less than `threshold` of a core for a second (at most `limit` s)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        others = Others()
        await asyncio.sleep(1)
        if others.cores() < threshold:
            return


async def _timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def _in_process(job: ParseJob) -> None:
    run_job(job)


async def pair(pool: ParsePool, job: ParseJob, runs: int) -> Pair:
    await pool.parse(job)  # the worker has seen this kind of document once, as in-process runs have
    run_job(job)
    here, through = [], []
    for _ in range(runs):
        here.append(await _timed(lambda: _in_process(job)))
        through.append(await _timed(lambda: pool.parse(job)))
    return Pair(here, through)


def _overhead_row(name: str, n: int, measured: Pair, others: float) -> str:
    here, pool = measured.here, measured.pool
    extra, extra_p99 = _median(pool) - _median(here), _p99(pool) - _p99(here)
    target = f"≤ {SMALL_TARGET_MS:g} ms" if n == 1 else ""
    verdict = "" if n != 1 else "met" if extra * 1e3 <= SMALL_TARGET_MS else "**missed**"
    noun = "update" if n == 1 else "updates"
    return (
        f"| `{name}`, {n} {noun} | {_ms(_median(here))} | {_ms(_p99(here))} | {_ms(_median(pool))} "
        f"| {_ms(_p99(pool))} | +{_ms(extra)} | {extra_p99 * 1e3:+,.2f} ms | {target} | {verdict} "
        f"| {others:.2f} |"
    )


async def overhead_rows(documents: Documents, runs: int, quiet_wait: float) -> list[str]:
    rows = [
        "| document | in-process p50 | p99 | pool p50 | p99 | pool − in-process, p50 | p99 | target "
        "| | others' CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    async with ParsePool(1) as pool:
        for n in SMALL_SIZES:
            for name, make in documents.items():
                await wait_quiet(quiet_wait)
                others = Others()
                measured = await pair(pool, make_job(name, make(n)), runs)
                rows.append(_overhead_row(name, n, measured, others.cores()))
                print(rows[-1], flush=True)
    return rows


async def two_at_once(pool: ParsePool, document: ParseJob, runs: int) -> list[float]:
    """Seconds per run of two copies of `document` at once (after one unmeasured run)."""

    async def both() -> None:
        await asyncio.gather(pool.parse(document), pool.parse(document))

    await both()
    return [await _timed(both) for _ in range(runs)]


async def throughput_rows(documents: Documents, n: int, runs: int, quiet_wait: float) -> list[str]:
    """Events/s on a large document: in-process, the pool one job at a time, and two workers with a job
    each (both cores: on this shared 2-core machine, an upper bound that others' work lowers)."""
    rows = [
        "| document | in-process events/s | pool, 1 job at a time | vs in-process | pool, 2 workers × 1 job "
        "| vs in-process | others' CPU |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    async with ParsePool(1) as single, ParsePool(2) as double:
        for name, make in documents.items():
            await wait_quiet(quiet_wait)
            document, others = make_job(name, make(n)), Others()
            measured = await pair(single, document, runs)
            both = await two_at_once(double, document, runs)
            here, one, two = n / _median(measured.here), n / _median(measured.pool), 2 * n / _median(both)
            rows.append(
                f"| `{name}`, {n:,} updates | {here:,.0f} | {one:,.0f} | {one / here:.2f}× | {two:,.0f} "
                f"| {two / here:.2f}× | {others.cores():.2f} |"
            )
            print(rows[-1], flush=True)
    return rows


async def cold_start(job: ParseJob) -> float:
    """Seconds for a fresh pool's first job: the forkserver starts (importing the adapters) and forks."""
    async with ParsePool(1) as pool:
        return await _timed(lambda: pool.parse(job))


async def replacement(small: ParseJob, slow: ParseJob, runs: int) -> Pair:
    """The small job on a warm worker and, in turn, as the first job after `slow` ran out of time (its
    worker killed, the next one forked from the forkserver)."""
    limits = ParseLimits(timeout=REPLACE_BUDGET)
    async with ParsePool(1, limits) as pool:
        await pool.parse(small)
        warm, replaced = [], []
        for _ in range(runs):
            warm.append(await _timed(lambda: pool.parse(small)))
            try:
                await pool.parse(slow)
            except ParseTimeoutError:
                pass
            else:
                raise RuntimeError("the slow job finished within the time budget: no worker was replaced")
            replaced.append(await _timed(lambda: pool.parse(small)))
    return Pair(warm, replaced)


def replacement_rows(cold: float, measured: Pair, slow: str) -> list[str]:
    warm, replaced = measured.here, measured.pool
    cost = _median(replaced) - _median(warm)
    return [
        "| worker start | p50 | p99 | max |",
        "|---|---:|---:|---:|",
        f"| warm worker: a one-update `guardian` job | {_ms(_median(warm))} | {_ms(_p99(warm))} "
        f"| {_ms(max(warm))} |",
        f"| first job after a `ParseTimeoutError` ({slow}, {REPLACE_BUDGET:g} s budget): the worker replaced "
        f"| {_ms(_median(replaced))} | {_ms(_p99(replaced))} | {_ms(max(replaced))} |",
        f"| replacing a killed worker (difference of the p50s) | {_ms(cost)} | | |",
        f"| a fresh pool's first job (starting the forkserver, once per process) | {_ms(cold)} | | |",
    ]


async def pool_rows(
    documents: Documents, runs: int, large: int, large_runs: int, quiet_wait: float
) -> list[str]:
    """The three tables: small documents' overhead, a large document's throughput, worker starts. Each
    measurement waits (up to `quiet_wait` s) for a moment when other processes leave the cores idle."""
    small = make_job("guardian", documents["guardian"](1))
    await wait_quiet(quiet_wait)
    cold = await cold_start(small)  # first: the forkserver is started once per process, then shared
    rows = await overhead_rows(documents, runs, quiet_wait)
    rows += ["", *await throughput_rows(documents, large, large_runs, quiet_wait)]
    slow = f"`guardian`, {SLOW_UPDATES:,} updates"
    await wait_quiet(quiet_wait)
    measured = await replacement(small, make_job("guardian", documents["guardian"](SLOW_UPDATES)), runs // 10)
    rows += ["", *replacement_rows(cold, measured, slow)]
    print(*rows[-6:], sep="\n", flush=True)
    return rows
