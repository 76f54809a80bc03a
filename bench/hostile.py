"""Hostile upstreams: `/healthz` latency of a real `timeline serve` while it parses hostile documents.

    .venv/bin/python -m bench.hostile [--seconds 60] [--rate 20] [--warmup 15] [--quiet-wait 120]
                                      [--documents /a,/b] [--out bench/RESULTS.md]

Starts `timeline serve` (a fresh SQLite file, polls every 1–2 s) pinned to one core, and the hostile
upstream of bench/_hostile_upstream.py, the prober and this process on the other (taskset). A prober
process sends `GET /healthz` `--rate` times a second on one keep-alive connection for `--seconds`, and
this process opens an SSE stream once a second and times its first byte: first with no sources (idle),
then with the five hostile documents attached as sources and polled over and over, both by the
scheduler and by a "poll now" loop per source (failing sources back off, up to an hour). Reported:
p50/p99/max of both latencies in both phases and the ratio of the p99s (target: ≤ 3×), the peak RSS
of the server process and of its parse workers, what the polls ended as, and each source's health.
Writes `## Hostile upstreams` in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench import _hostile_upstream as upstream
from bench._hostile_procs import CpuMark, Memory, Server, cpus, probe, running_server, running_upstream
from bench._results import RESULTS, write_section

KEY = "bench-hostile-key"
SLUG = "hostile"
TARGET = 3.0  # healthz p99 under hostile polls ≤ this × its idle p99
POLL_LINE = re.compile(r"poll source=\S+ url=http://[^/\s]+(/\S*) status=(\S+)")
ERROR_KIND = re.compile(r" error=(\S+)")
CPU_LABELS = {
    "server": "the server process (event loop and its threads)",
    "workers": "its parse workers",
    "others": "other processes on the machine (not the prober's, the upstream's or ours)",
}


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(samples: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max, in milliseconds."""
    return 1e3 * _quantile(samples, 0.5), 1e3 * _quantile(samples, 0.99), 1e3 * max(samples, default=0)


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


async def wait_quiet(server: Server, limit: float, threshold: float = 0.3) -> None:
    """Until other processes use less than `threshold` of a core for a second (at most `limit` s)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        start = CpuMark.now(server.pid)
        await asyncio.sleep(1)
        if CpuMark.now(server.pid).cores_since(start)["others"] < threshold:
            return


async def measure(server: Server, rate: int, seconds: int, quiet_wait: float) -> dict[str, Any]:
    """One phase: the prober's healthz latencies (from its own process) and SSE first bytes (from here)."""
    await wait_quiet(server, quiet_wait)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    prober = context.Process(target=probe, args=(server.port, rate, seconds, results), name="prober")
    start = CpuMark.now(server.pid)
    prober.start()
    sse = await sse_probe(server.port, seconds)
    cores = CpuMark.now(server.pid).cores_since(start)
    healthz = await asyncio.to_thread(results.get, True, seconds + 60)
    prober.join(10)
    return {**healthz, "sse": sse, "cores": cores}


async def attach(client: httpx.AsyncClient, base: str, paths: list[str]) -> dict[str, str]:
    """The hostile paths as sources of the timeline (served harmless until armed); path → source id."""
    await client.post("/api/v1/timelines", json={"title": "Hostile", "slug": SLUG})
    ids = {}
    for path in paths:
        response = await client.post(f"/api/v1/timelines/{SLUG}/sources", json={"url": base + path})
        response.raise_for_status()
        ids[path] = response.json()["id"]
    return ids


async def keep_polling(client: httpx.AsyncClient, source_id: str) -> None:
    """Asks for a poll now, again and again, a second after each answer (409 while another poll runs)."""
    while True:
        await client.post(f"/api/v1/timelines/{SLUG}/sources/{source_id}/poll", timeout=120)
        await asyncio.sleep(1)


def outcomes(log: Path, offset: int) -> dict[str, Counter[str]]:
    """Per path, how its polls ended (status or error kind) in the server's log after `offset`."""
    ended: dict[str, Counter[str]] = {path: Counter() for path in upstream.DOCUMENTS}
    with log.open("rb") as lines:
        lines.seek(offset)
        for line in lines.read().decode(errors="replace").splitlines():
            if (found := POLL_LINE.search(line)) and found[1] in ended:
                error = ERROR_KIND.search(line)
                ended[found[1]][error[1] if error else found[2]] += 1
    return ended


def health(timeline: dict[str, Any], ids: dict[str, str]) -> dict[str, str]:
    """Per path: the source's health status and its last error's kind and message."""
    paths = {source_id: path for path, source_id in ids.items()}
    said = {}
    for source in timeline["sources"]:
        state, error = source.get("health") or {}, (source.get("health") or {}).get("last_error") or {}
        text = f"`{state.get('status')}`"
        if error:
            text += f", `{error.get('kind')}`: " + error.get("message", "")[:160].replace("|", "\\|")
        said[paths.get(source["id"], source["id"])] = text
    return said


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
            print(f"idle: {args.seconds} s of /healthz at {args.rate}/s…", flush=True)
            idle = await measure(server, args.rate, args.seconds, args.quiet_wait)
            idle_hwm = server.memory.server_hwm()
            ids = await attach(client, base, args.documents)
            await client.get(base + "/arm")
            offset = server.log.stat().st_size
            pollers = [asyncio.create_task(keep_polling(client, source_id)) for source_id in ids.values()]
            sampler = asyncio.create_task(server.memory.watch())
            print(f"hostile: {args.warmup} s of warm-up, then {args.seconds} s of /healthz…", flush=True)
            await asyncio.sleep(args.warmup)
            served_before = (await client.get(base + "/stats")).json()["served"]
            hostile = await measure(server, args.rate, args.seconds, args.quiet_wait)
            served_after = (await client.get(base + "/stats")).json()
            for task in [*pollers, sampler]:
                task.cancel()
            timeline = (await client.get(f"/api/v1/timelines/{SLUG}")).json()
        served = {path: served_after["served"][path] - served_before[path] for path in ids}
        return {
            "idle": idle,
            "hostile": hostile,
            "cpus": (server_cpu, client_cpu),
            "server_hwm": (idle_hwm, server.memory.server_hwm()),
            "workers": server.memory,
            "served": served,
            "sizes": served_after["sizes"],
            "outcomes": outcomes(server.log, offset),
            "health": health(timeline, ids),
        }


def _ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 1000 else f"{value / 1000:,.2f} s"


def report(found: dict[str, Any], args: argparse.Namespace) -> list[str]:
    idle, hostile = found["idle"], found["hostile"]
    rows = [
        "| latency | idle p50 | p99 | max | under hostile polls p50 | p99 | max | p99 ratio | target | |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, key in (("`GET /healthz`", "latencies"), ("SSE stream, first byte", "sse")):
        a, b = summary(idle[key]), summary(hostile[key])
        ratio = b[1] / a[1] if a[1] else float("inf")
        goal = f"≤ {TARGET:g}×" if key == "latencies" else ""
        verdict = "" if not goal else "met" if ratio <= TARGET else "**missed**"
        rows.append(
            f"| {name} | {' | '.join(map(_ms, a))} | {' | '.join(map(_ms, b))} | {ratio:.2f}× | {goal} "
            f"| {verdict} |"
        )
    rows.append(
        f"| healthz requests (errors) | {len(idle['latencies']):,} ({idle['errors']}) | | "
        f"| {len(hostile['latencies']):,} ({hostile['errors']}) | | | | | |"
    )
    idle_hwm, end_hwm = found["server_hwm"]
    workers: Memory = found["workers"]
    rows += [
        "",
        "| resources | idle | under hostile polls |",
        "|---|---:|---:|",
        f"| server process: peak RSS (VmHWM; its parse workers not counted) | {idle_hwm / 1024:,.0f} MB "
        f"| {end_hwm / 1024:,.0f} MB |",
        f"| parse workers: largest peak RSS ({workers.started} started) | "
        f"| {workers.peak_kib / 1024:,.0f} MB |",
        *(
            f"| CPU, cores' worth: {label} | {idle['cores'][key]:.2f} | {hostile['cores'][key]:.2f} |"
            for key, label in CPU_LABELS.items()
        ),
        "",
        "| source | document | size | served while measured | polls ended as (warm-up included) "
        "| health at the end |",
        "|---|---|---:|---:|---|---|",
    ]
    for path in args.documents:
        what = upstream.DOCUMENTS[path][2]
        ended = ", ".join(f"{kind} × {count}" for kind, count in found["outcomes"][path].most_common())
        rows.append(
            f"| `{path}` | {what} | {found['sizes'][path] / 1e6:.1f} MB | {found['served'][path]} "
            f"| {ended or 'none logged'} | {found['health'].get(path, '?')} |"
        )
    return rows


def notes(found: dict[str, Any], args: argparse.Namespace) -> str:
    server_cpu, client_cpu = found["cpus"]
    pinned = (
        f"`timeline serve` pinned to CPU {server_cpu} (its parse workers inherit it, so it runs one), the "
        f"prober, the upstream (nice 10) and this process to CPU {client_cpu} (taskset)"
        if server_cpu is not None
        else "nothing pinned (no taskset or one core)"
    )
    return (
        f"{pinned}. Settings: defaults (parse budget 10 s, 512 MB per worker, 10 MiB bodies) but "
        "`TIMELINE_POLL_INTERVAL=1 TIMELINE_POLL_MIN_INTERVAL=1 TIMELINE_POLL_MAX_INTERVAL=2`, a fresh "
        f"SQLite file. Prober: `GET /healthz` {args.rate}/s for {args.seconds} s on one keep-alive "
        "connection (`http.client`), each latency counted from the moment the request was due, so a stall "
        "also counts against the requests queued behind it. SSE: a new connection once a second, time to "
        f"the first byte of the answer. Hostile phase: after {args.warmup} s of warm-up, every source "
        'polled by the scheduler and by a "poll now" loop (one request per source a second after the last '
        "answer). Each phase starts once other processes have used < 0.3 core for a second (at most "
        f"{args.quiet_wait:g} s of waiting). What each document costs depends on the adapters' limits at "
        "the time of the run: the last table says how each poll ended."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60, help="Seconds of probing per phase.")
    parser.add_argument("--rate", type=int, default=20, help="/healthz requests a second.")
    parser.add_argument("--warmup", type=int, default=15, help="Seconds of hostile polls before probing.")
    parser.add_argument(
        "--quiet-wait", type=float, default=120, help="Seconds to wait at most for other work to stop."
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
