"""Hostile upstreams: `/healthz` latency of a real `timeline serve` while it parses hostile documents.

    .venv/bin/python -m bench.hostile [--seconds 60] [--rounds 4] [--rate 20] [--warmup 10]
                                      [--quiet-wait 30] [--documents /a,/b] [--out bench/RESULTS.md]

Starts `timeline serve` (a fresh SQLite file, polls every 1–2 s) pinned to one core, and the hostile
upstream of bench/_hostile_upstream.py, the prober and this process on the other (taskset). A prober
process sends `GET /healthz` `--rate` times a second on one keep-alive connection, and this process
opens an SSE stream once a second and times its first byte:

- idle: `--seconds` with no sources at all;
- then the five hostile documents are attached as sources, and `--rounds` rounds each measure
  `--seconds / --rounds` under hostile polls (every source polled by the scheduler and by a "poll now"
  loop, as failing sources back off), then as long again with the upstream disarmed (the same sources
  serving a small unchanged document: polled, never parsed) once the hostile polls in flight are done.
  Alternating spreads the load of this shared machine over both; the ratio of the p99s under hostile
  polls and between them is the measure (target: ≤ 3×).

Also reported: the peak RSS of the server process and of its parse workers, CPU use, how the hostile
polls ended and each source's health. Writes `## Hostile upstreams` in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import _hostile_upstream as upstream
from bench._hostile_procs import (
    SETTLE_LIMIT,
    CpuMark,
    Server,
    cpus,
    probe,
    running_server,
    running_upstream,
)
from bench._hostile_report import Phase, health, notes, outcomes, report
from bench._results import RESULTS, write_section

KEY = "bench-hostile-key"
SLUG = "hostile"


async def first_byte(port: int) -> float:
    """Seconds from opening a connection to the first byte of an SSE stream's answer."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        request = f"GET /api/v1/timelines/{SLUG}/stream HTTP/1.1\r\nHost: bench\r\n\r\n"
        writer.write(request.encode())
        await reader.readexactly(1)
        return time.perf_counter() - started
    finally:
        writer.close()


async def sse_probe(port: int, seconds: float) -> list[float]:
    samples, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(await first_byte(port))
        await asyncio.sleep(1)
    return samples


async def measure(server: Server, rate: int, seconds: int, phase: Phase) -> None:
    """`seconds` of healthz latencies (the prober, a process of its own) and SSE first bytes (from here),
    added to `phase`."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    prober = context.Process(target=probe, args=(server.port, rate, seconds, results), name="prober")
    start = CpuMark.now(server.pid)
    prober.start()
    sse = await sse_probe(server.port, seconds)
    cores = CpuMark.now(server.pid).cores_since(start)
    healthz = await asyncio.to_thread(results.get, True, seconds + 60)
    prober.join(10)
    phase.add(healthz["latencies"], healthz["errors"], sse, cores)


async def until_cpu(server: Server, limit: float, done: Callable[[dict[str, float]], bool]) -> None:
    """Until `done(cores)` holds for one second's `CpuMark.cores_since` (at most `limit` seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        start = CpuMark.now(server.pid)
        await asyncio.sleep(1)
        if done(CpuMark.now(server.pid).cores_since(start)):
            return


async def wait_quiet(server: Server, limit: float) -> None:
    """Until other processes use less than 0.3 of a core for a second (at most `limit` s)."""
    await until_cpu(server, limit, lambda cores: cores["others"] < 0.3)


async def settle(server: Server) -> None:
    """Until the server and its parse workers are done with the hostile polls in flight."""
    await until_cpu(server, SETTLE_LIMIT, lambda cores: cores["workers"] < 0.05 and cores["server"] < 0.1)


async def attach(client: httpx.AsyncClient, base: str, paths: list[str]) -> dict[str, str]:
    """The hostile paths as sources of the timeline (served harmless until armed); path → source id."""
    await client.post("/api/v1/timelines", json={"title": "Hostile", "slug": SLUG})
    ids = {}
    for path in paths:
        response = await client.post(f"/api/v1/timelines/{SLUG}/sources", json={"url": base + path})
        if response.status_code != 201:
            raise RuntimeError(f"attaching {path}: {response.status_code} {response.text}")
        ids[path] = response.json()["id"]
    return ids


async def keep_polling(client: httpx.AsyncClient, source_id: str) -> None:
    """Asks for a poll now, again and again, a second after each answer (409 while another poll runs)."""
    while True:
        await client.post(f"/api/v1/timelines/{SLUG}/sources/{source_id}/poll", timeout=120)
        await asyncio.sleep(1)


class Rounds:
    """The alternating part of the run: hostile polls, then none, `rounds` times."""

    def __init__(
        self, server: Server, client: httpx.AsyncClient, base: str, args: argparse.Namespace
    ) -> None:
        self.server, self.client, self.base, self.args = server, client, base, args
        self.hostile, self.quiet = Phase(), Phase()
        self.served: Counter[str] = Counter()
        self.timeline: dict[str, Any] = {}

    async def run(self, ids: dict[str, str]) -> None:
        seconds = max(1, self.args.seconds // self.args.rounds)
        for number in range(1, self.args.rounds + 1):
            print(f"round {number} of {self.args.rounds}: hostile, then quiet, {seconds} s each", flush=True)
            await wait_quiet(self.server, self.args.quiet_wait)
            await self.client.get(self.base + "/arm")
            pollers = [asyncio.create_task(keep_polling(self.client, source)) for source in ids.values()]
            await asyncio.sleep(self.args.warmup)
            before = await self._served()
            await measure(self.server, self.args.rate, seconds, self.hostile)
            self.served.update(Counter(await self._served()) - Counter(before))
            self.timeline = (await self.client.get(f"/api/v1/timelines/{SLUG}")).json()
            for task in pollers:
                task.cancel()
            await self.client.get(self.base + "/disarm")
            await settle(self.server)
            await measure(self.server, self.args.rate, seconds, self.quiet)

    async def _served(self) -> dict[str, int]:
        served: dict[str, int] = (await self.client.get(self.base + "/stats")).json()["served"]
        return served


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    server_cpu, client_cpu = cpus()
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})  # the prober and the upstream start from here: they inherit
    with (
        running_upstream(workdir / "upstream.log") as base,
        running_server(workdir, KEY, server_cpu) as server,
    ):
        headers = {"Authorization": f"Bearer {KEY}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
            print(f"idle: {args.seconds} s of /healthz at {args.rate}/s, no sources…", flush=True)
            idle = Phase()
            await wait_quiet(server, args.quiet_wait)
            await measure(server, args.rate, args.seconds, idle)
            idle_hwm = server.memory.server_hwm()
            ids = await attach(client, base, args.documents)
            offset = server.log.stat().st_size
            sampler = asyncio.create_task(server.memory.watch())
            rounds = Rounds(server, client, base, args)
            await rounds.run(ids)
            sampler.cancel()
            sizes = (await client.get(base + "/stats")).json()["sizes"]
        return {
            "phases": {"idle": idle, "quiet": rounds.quiet, "hostile": rounds.hostile},
            "cpus": (server_cpu, client_cpu),
            "server_hwm": (idle_hwm, server.memory.server_hwm()),
            "workers": server.memory,
            "served": rounds.served,
            "sizes": sizes,
            "outcomes": outcomes(server.log, offset),
            "health": health(rounds.timeline, ids),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60, help="Seconds of probing per phase.")
    parser.add_argument("--rounds", type=int, default=4, help="Hostile/quiet rounds sharing --seconds.")
    parser.add_argument("--rate", type=int, default=20, help="/healthz requests a second.")
    parser.add_argument("--warmup", type=int, default=10, help="Seconds of hostile polls before probing.")
    parser.add_argument(
        "--quiet-wait", type=float, default=30, help="Seconds to wait at most for other work to stop."
    )
    parser.add_argument(
        "--documents",
        type=lambda text: text.split(","),
        default=list(upstream.DOCUMENTS),
        help=f"Hostile documents to attach, comma-separated (default: all, {','.join(upstream.DOCUMENTS)}).",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if unknown := set(args.documents) - set(upstream.DOCUMENTS):
        parser.error(f"no such document: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as workdir:
        found = asyncio.run(run(args, Path(workdir)))
    rows = report(found, args)
    print("", *rows, sep="\n")
    command = "python -m bench.hostile " + " ".join(sys.argv[1:])
    write_section(args.out, "Hostile upstreams", command, notes(found, args), rows)


if __name__ == "__main__":
    main()
