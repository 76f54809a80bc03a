"""Live push benchmark: N concurrent SSE clients of one timeline, a writer at 5 changes/s.

    .venv/bin/python -m bench.sse [--clients 1000,5000,10000] [--seconds 20] [--rate 5] [--loaders 1]

Per client count: a fresh SQLite file with one timeline; one API process (`bench._sse_server`: the app as
`timeline api` builds it, uvicorn, memory hub, TIMELINE_MAX_STREAMS above N) whose in-process writer
stands for `timeline serve`'s pollers; `--loaders` load processes (`bench._sse_load`) on 127.0.0.1
holding the N streams. With taskset and two cores the server is pinned to one core and the load to the
other. Measured: delivery latency from commit (writer's clock right after `store.apply`) to receipt
(client's clock on reading the frame) over every client and change; RSS per idle client ((RSS with N
idle streams − RSS with none) / N); server CPU while writing; and that every client got every change
exactly once. Targets: p99 < 1 s at 10,000 clients, < 20 KB per idle client. Writes
`## Live push (issue 6)` in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._results import RESULTS, write_section
from bench._sse_load import Receipts, load_receipts
from bench._sse_procs import Child, CpuMark, api_server, fresh_bench, loaders, receipts_path, wait_quiet
from bench.api import OUT, _cpu_model, _cpus

TARGET_P99 = 1.0  # seconds, at 10,000 clients
TARGET_KB = 20.0  # per idle client
SETTLE = 3.0  # seconds after the last connection before RSS is read


# --- one run -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    seconds: int
    rate: float
    loaders: int
    quiet_wait: float
    drain: float
    profile: bool
    server_cpu: int | None
    load_cpu: int | None


@dataclass(frozen=True)
class Run:
    clients: int
    connected: int
    refused: int
    rss_idle_kib: int
    rss_held_kib: int
    commits: dict[int, float]  # seq → commit time
    receipts: list[Receipts]
    closed: int  # streams the server ended before the run was over
    server_cores: float
    load_cores: float
    others_cores: float
    others_before: float


def _warm(base: str, timeline_id: str) -> None:
    """One short stream, so routing, the channel and the first-request caches exist before the baseline."""
    with (
        httpx.Client(base_url=base, timeout=30) as http,
        http.stream("GET", f"/api/v1/timelines/{timeline_id}/stream") as response,
    ):
        next(response.iter_lines())


def _commits(path: Path) -> dict[int, float]:
    return {int(seq): float(at) for seq, at in (line.split() for line in path.read_text().splitlines())}


def run(clients: int, options: Options) -> Run:
    bench = fresh_bench()
    with api_server(bench, clients, options.server_cpu) as (server, base):
        _warm(base, bench.timeline_id)
        time.sleep(1)
        idle = server.rss_kib()
        port = int(base.rsplit(":", 1)[1])
        with loaders(port, bench, clients, options.loaders, options.load_cpu) as load:
            said = [child.expect("connected") for child in load]
            connected, refused = sum(int(s[0]) for s in said), sum(int(s[1]) for s in said)
            print(f"  {connected:,} streams open ({refused:,} refused)", flush=True)
            time.sleep(SETTLE)
            held = server.rss_kib()
            before = wait_quiet(server, load, options.quiet_wait)
            count = round(options.seconds * options.rate)
            start = CpuMark.now(server, load)
            spy = _profile(server, clients, options.seconds) if options.profile else None
            server.tell(f"write {count} {options.rate}")
            server.expect("written")
            last = max(_commits(bench.commits))
            for child in load:
                child.tell(f"wait {last} {options.drain}")
            for child in load:
                child.expect("reached")
            server_cores, load_cores, others = CpuMark.now(server, load).cores(start)
            if spy is not None:
                spy.wait()
            for child in load:
                child.tell("stop")
            closed = sum(int(child.expect("stopped")[0]) for child in load)
    receipts = [load_receipts(receipts_path(i)) for i in range(options.loaders)]
    return Run(
        clients, connected, refused, idle, held, _commits(bench.commits), receipts, closed,
        server_cores, load_cores, others, before,
    )  # fmt: skip


def _profile(server: Child, clients: int, seconds: int) -> subprocess.Popen[bytes]:
    """py-spy's collapsed stacks of the server while it writes, to bench/out/ (`pip install py-spy`)."""
    spy = Path(sys.executable).with_name("py-spy")
    out = OUT / f"sse-profile-{clients}.txt"
    command = [str(spy), "record", "--pid", str(server.pid), "--duration", str(seconds), "--rate", "200"]
    return subprocess.Popen(
        [*command, "--nonblocking", "--format", "raw", "--output", str(out)], stdout=subprocess.DEVNULL
    )


# --- analysis ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    run: Run
    p50: float
    p99: float
    worst: float
    deliveries: int
    missed: int
    duplicated: int

    @property
    def kib_per_client(self) -> float:
        return (self.run.rss_held_kib - self.run.rss_idle_kib) / max(self.run.connected, 1)


def summarize(run: Run) -> Summary:
    """Latencies of every (client, change), and how many (client, change) pairs were missed or repeated."""
    index = {seq: i for i, seq in enumerate(sorted(run.commits))}
    width = len(index)
    seen = bytearray(width * run.clients)
    latencies: list[float] = []
    for receipts in run.receipts:
        for client, seq, at in zip(receipts.clients, receipts.seqs, receipts.times, strict=True):
            latencies.append(at - run.commits[seq])
            slot = client * width + index[seq]
            seen[slot] = min(seen[slot] + 1, 255)
    latencies.sort()
    held = [client for receipts in run.receipts for client in receipts.held]
    missed = sum(seen[c * width : (c + 1) * width].count(0) for c in held)
    duplicated = len(latencies) - (len(seen) - seen.count(0))
    worst = latencies[-1] if latencies else float("nan")
    return Summary(run, _pct(latencies, 50), _pct(latencies, 99), worst, len(latencies), missed, duplicated)


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * pct / 100))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def row(s: Summary) -> str:
    run = s.run
    exact = (
        "every change once"
        if not (s.missed or s.duplicated or run.closed)
        else (f"**{s.missed:,} missed, {s.duplicated:,} repeated, {run.closed:,} streams ended**")
    )
    target = run.clients >= 10_000
    p99 = _ms(s.p99) + (("" if s.p99 < TARGET_P99 else " **missed**") if target else "")
    kib = f"{s.kib_per_client:,.1f}" + ("" if s.kib_per_client < TARGET_KB else " **missed**")
    return (
        f"| {run.clients:,} | {run.connected:,} | {len(run.commits)} | {s.deliveries:,} | {_ms(s.p50)} "
        f"| {p99} | {_ms(s.worst)} | {kib} | {run.server_cores:.2f} | {run.load_cores:.2f} | {exact} "
        f"| {run.others_cores:.2f} |"
    )


HEADER = [
    "| clients | streams open | changes | deliveries | p50 | p99 | max | KB/idle client | server cores "
    "| load cores | exactly once | others' cores |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
]


def notes(options: Options) -> str:
    pinning = (
        f"server pinned to CPU {options.server_cpu}, load processes to CPU {options.load_cpu} (taskset)"
        if options.server_cpu is not None
        else "not pinned"
    )
    return "\n".join([
        f"{_cpu_model()}; uvicorn (uvloop + httptools), one API process over a SQLite file, memory hub, "
        f"the collector tuned as `timeline api` does (`tune_gc`); {pinning}.  ",
        f"Writer: in the API process, standing for `timeline serve`'s pollers: `store.apply` of one new "
        f"~1 KB event then `hub.publish`, {options.rate:g} changes/s for {options.seconds} s. A writer in "
        "another process cannot notify a memory hub: its changes would reach readers by the fan-out's "
        "once-a-second `last_seq` check instead (with several processes, `TIMELINE_HUB=postgres`).  ",
        f"Load: {options.loaders} process(es) of raw asyncio + httptools clients on 127.0.0.1, all "
        "connected before the first write (`--loaders N` splits them; one keeps up while its load cores "
        "stay well under 1). Latency: commit (writer's `time.time()` right after the "
        "commit) to receipt (client's `time.time()` when the frame's bytes arrive), over every client "
        "and change; same host clock. KB/idle client: (server RSS with N idle streams − RSS with none) / N. "
        "Cores: CPU used while writing and delivering, over its wall time; others' cores: the rest of "
        "the machine meanwhile (shared: above ~0.1 the row is disturbed).",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", default="1000,5000,10000", help="Comma-separated client counts.")
    parser.add_argument("--seconds", type=int, default=20, help="Seconds of writing per client count.")
    parser.add_argument("--rate", type=float, default=5.0, help="Changes per second.")
    parser.add_argument("--loaders", type=int, default=1, help="Load processes sharing the clients.")
    parser.add_argument("--quiet-wait", type=float, default=120, help="Seconds to wait at most for quiet.")
    parser.add_argument(
        "--drain", type=float, default=30, help="Seconds clients may take after the last write."
    )
    parser.add_argument("--profile", action="store_true", help="py-spy stacks of the server to bench/out/.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    server_cpu, load_cpu = _cpus()
    options = Options(
        args.seconds, args.rate, args.loaders, args.quiet_wait, args.drain, args.profile, server_cpu, load_cpu
    )
    OUT.mkdir(parents=True, exist_ok=True)
    rows = list(HEADER)
    for clients in (int(n) for n in args.clients.split(",")):
        print(f"{clients:,} clients:", flush=True)
        summary = summarize(run(clients, options))
        rows.append(row(summary))
        print(rows[-1], flush=True)
    print("", *rows, sep="\n")
    command = "python -m bench.sse " + " ".join(sys.argv[1:])
    write_section(args.out, "Live push (issue 6)", command, notes(options), rows)


if __name__ == "__main__":
    main()
