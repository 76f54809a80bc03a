"""What bench/hostile.py found, as the tables and notes of its section in bench/RESULTS.md."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import _hostile_upstream as upstream
from bench._hostile_procs import SETTLE_LIMIT, Memory

TARGET = 3.0  # healthz p99 under hostile polls ≤ this × its p99 between them
POLL_LINE = re.compile(r"poll source=\S+ url=http://[^/\s]+(/\S*) status=(\S+)")
BYTES = re.compile(r" bytes=(\d+)")
ERROR_KIND = re.compile(r" error=(\S+)")
HOSTILE_BYTES = 10_000  # every hostile document is larger; the harmless one is far smaller
CPU_LABELS = {
    "server": "the server process (event loop and its threads)",
    "workers": "its parse workers",
    "others": "other processes (not the server's, the prober's, the upstream's or this one's)",
}


@dataclass
class Phase:
    """The samples of one kind of phase, over all its parts."""

    latencies: list[float] = field(default_factory=list)  # healthz, seconds
    errors: int = 0
    sse: list[float] = field(default_factory=list)  # first bytes, seconds
    cores: list[dict[str, float]] = field(default_factory=list)  # per part

    def add(self, latencies: list[float], errors: int, sse: list[float], cores: dict[str, float]) -> None:
        self.latencies += latencies
        self.errors += errors
        self.sse += sse
        self.cores.append(cores)

    def mean_cores(self, key: str) -> float:
        return max(0.0, sum(part[key] for part in self.cores) / max(len(self.cores), 1))


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(samples: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max, in milliseconds."""
    return 1e3 * _quantile(samples, 0.5), 1e3 * _quantile(samples, 0.99), 1e3 * max(samples, default=0)


def outcomes(log: Path, offset: int) -> dict[str, Counter[str]]:
    """Per path, how its hostile polls ended (status or error kind), from the server's log after
    `offset`; polls of the small harmless document are left out by their size."""
    ended: dict[str, Counter[str]] = {path: Counter() for path in upstream.DOCUMENTS}
    with log.open("rb") as lines:
        lines.seek(offset)
        for line in lines.read().decode(errors="replace").splitlines():
            found, size = POLL_LINE.search(line), BYTES.search(line)
            if found and found[1] in ended and size and int(size[1]) >= HOSTILE_BYTES:
                error = ERROR_KIND.search(line)
                ended[found[1]][error[1] if error else found[2]] += 1
    return ended


def health(timeline: dict[str, Any], ids: dict[str, str]) -> dict[str, str]:
    """Per path: the source's health status and its last error's kind and message."""
    paths = {source_id: path for path, source_id in ids.items()}
    said = {}
    for source in timeline.get("sources", []):
        state = source.get("health") or {}
        error = state.get("last_error") or {}
        text = f"`{state.get('status')}`"
        if error:
            text += f", `{error.get('kind')}`: " + error.get("message", "")[:160].replace("|", "\\|")
        said[paths.get(source["id"], source["id"])] = text
    return said


def _ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 1000 else f"{value / 1000:,.2f} s"


def _phase_row(label: str, phase: Phase) -> str:
    healthz, sse = summary(phase.latencies), summary(phase.sse)
    return (
        f"| {label} | {' | '.join(map(_ms, healthz))} | {len(phase.latencies):,} ({phase.errors}) "
        f"| {' | '.join(map(_ms, sse))} | {phase.mean_cores('others'):.2f} |"
    )


def _ratio_row(label: str, hostile: Phase, base: Phase, goal: bool) -> str:
    ratio = summary(hostile.latencies)[1] / summary(base.latencies)[1]
    verdict = ("met" if ratio <= TARGET else "**missed**") if goal else ""
    return f"| {label} | {ratio:.2f}× | {f'≤ {TARGET:g}×' if goal else ''} | {verdict} |"


def latency_rows(phases: dict[str, Phase], args: argparse.Namespace) -> list[str]:
    part = args.seconds // args.rounds
    idle, quiet, hostile = phases["idle"], phases["quiet"], phases["hostile"]
    return [
        "| phase | healthz p50 | p99 | max | requests (errors) | SSE first byte p50 | p99 | max "
        "| others' CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        _phase_row(f"idle: no sources, {args.seconds} s", idle),
        _phase_row(
            f"between rounds: sources serving a small unchanged document, {args.rounds} × {part} s", quiet
        ),
        _phase_row(
            f"under hostile polls, {args.rounds} × {part} s (alternating with the row above)", hostile
        ),
        "",
        "| healthz p99 ratio | | target | |",
        "|---|---:|---:|---|",
        _ratio_row("under hostile polls ÷ between rounds (measured in alternation)", hostile, quiet, True),
        _ratio_row("under hostile polls ÷ idle with no sources (measured first)", hostile, idle, False),
    ]


def resource_rows(found: dict[str, Any]) -> list[str]:
    phases: dict[str, Phase] = found["phases"]
    idle_hwm, end_hwm = found["server_hwm"]
    workers: Memory = found["workers"]
    return [
        "| resources | idle | between rounds | under hostile polls |",
        "|---|---:|---:|---:|",
        f"| server process: peak RSS (VmHWM; parse workers not counted) | {idle_hwm / 1024:,.0f} MB | "
        f"| {end_hwm / 1024:,.0f} MB |",
        f"| parse workers: largest peak RSS ({workers.started} started) | | "
        f"| {workers.peak_kib / 1024:,.0f} MB |",
        *(
            f"| CPU, cores' worth: {label} | {phases['idle'].mean_cores(key):.2f} "
            f"| {phases['quiet'].mean_cores(key):.2f} | {phases['hostile'].mean_cores(key):.2f} |"
            for key, label in CPU_LABELS.items()
        ),
    ]


def source_rows(found: dict[str, Any], args: argparse.Namespace) -> list[str]:
    rows = [
        "| source | document | size | hostile bodies served while measured | hostile polls ended as "
        "| health after the last hostile round |",
        "|---|---|---:|---:|---|---|",
    ]
    for path in args.documents:
        ended = ", ".join(f"{kind} × {count}" for kind, count in found["outcomes"][path].most_common())
        rows.append(
            f"| `{path}` | {upstream.DOCUMENTS[path][2]} | {found['sizes'][path] / 1e6:.1f} MB "
            f"| {found['served'][path]} | {ended or 'none logged'} | {found['health'].get(path, '?')} |"
        )
    return rows


def report(found: dict[str, Any], args: argparse.Namespace) -> list[str]:
    return [
        *latency_rows(found["phases"], args),
        "",
        *resource_rows(found),
        "",
        *source_rows(found, args),
    ]


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
        f"SQLite file. Prober: `GET /healthz` {args.rate}/s on one keep-alive connection (`http.client`), "
        "each latency counted from the moment the request was due, so a stall also counts against the "
        "requests queued behind it. SSE: a new connection once a second, time to the first byte of the "
        f"answer. Each hostile round: {args.warmup} s of warm-up, then every source polled by the "
        'scheduler and by a "poll now" loop (one request per source a second after the last answer); '
        "the round between starts once the server and its workers are idle again (at most "
        f"{SETTLE_LIMIT:g} s). Each round (and the idle phase) starts once other processes have used "
        f"< 0.3 core for a second, or after {args.quiet_wait:g} s. What each document costs depends on the "
        "adapters' limits at the time of the run: the last table says how each hostile poll ended."
    )
