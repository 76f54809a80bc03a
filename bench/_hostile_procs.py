"""The processes of bench/hostile.py: the server, the hostile upstream, the prober; their CPU and memory."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import httpx

from bench._cpu import CLOCK_TICKS, machine_cpu

ROOT = Path(__file__).resolve().parent.parent
START_WAIT = 120.0  # seconds: the upstream builds ~40 MB of documents first
SETTLE_LIMIT = 30.0  # seconds to wait at most, after disarming, for the hostile polls in flight to end


def cpus() -> tuple[int | None, int | None]:
    """A core for the server and another for everything else, when taskset and two cores are there."""
    available = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") and len(available) >= 2:
        return available[0], available[1]
    return None, None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- /proc ---------------------------------------------------------------------------------------------


def _stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/PID/stat after the command name) for every process."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            yield int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()


def group_cpu_total(pgid: int) -> float:
    """CPU seconds of a process group's processes, with that of their children already reaped (a parse
    worker killed over a hostile document takes its CPU time with it, to the process that waited)."""
    ticks = 0
    for _, fields in _stats():
        if int(fields[2]) == pgid:  # pgrp; utime, stime, cutime, cstime at 11–14
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLOCK_TICKS


@dataclass(frozen=True)
class CpuMark:
    """CPU seconds used so far: by the machine, the server process, its session (with its parse
    workers) and our group (this process, the prober and the upstream)."""

    machine: float
    server: float
    session: float
    ours: float
    at: float

    @classmethod
    def now(cls, server_pid: int) -> CpuMark:
        session, ours = group_cpu_total(server_pid), group_cpu_total(os.getpgrp())
        return cls(machine_cpu(), process_cpu(server_pid), session, ours, time.monotonic())

    def cores_since(self, start: CpuMark) -> dict[str, float]:
        """Cores' worth used since `start` by the server process, its parse workers (and forkserver),
        and other processes on the machine (not ours)."""
        seconds = self.at - start.at
        session, ours = self.session - start.session, self.ours - start.ours
        server = self.server - start.server
        others = max(0.0, self.machine - start.machine - session - ours)
        return {
            "server": server / seconds,
            "workers": (session - server) / seconds,
            "others": others / seconds,
        }


def process_cpu(pid: int) -> float:
    """CPU seconds of one process (all its threads), without its children."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return 0.0


def children(pid: int) -> list[int]:
    return [child for child, fields in _stats() if int(fields[1]) == pid]


def status_kib(pid: int, name: str = "VmHWM") -> int:
    """A `kB` line of /proc/PID/status (VmHWM: peak resident memory); 0 once the process is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return ""


@dataclass
class Memory:
    """Peak resident memory of a server's parse workers: the children of its forkserver, sampled while
    they live (a worker killed over a hostile document is gone before anyone could ask it)."""

    server_pid: int
    peaks: dict[int, int] = field(default_factory=dict)  # worker pid → VmHWM (KiB)

    def server_hwm(self) -> int:
        return status_kib(self.server_pid)

    def sample(self) -> None:
        for forkserver in children(self.server_pid):
            if "forkserver" in _cmdline(forkserver):
                for worker in children(forkserver):
                    self.peaks[worker] = max(self.peaks.get(worker, 0), status_kib(worker))

    async def watch(self, every: float = 0.2) -> None:
        while True:
            await asyncio.to_thread(self.sample)
            await asyncio.sleep(every)

    @property
    def started(self) -> int:
        return len(self.peaks)

    @property
    def peak_kib(self) -> int:
        return max(self.peaks.values(), default=0)


# --- processes -----------------------------------------------------------------------------------------


def _until(ready: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(ready, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{ready} did not answer within {START_WAIT:g} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes], group: bool) -> None:
    """SIGTERM, then SIGKILL to what is left (of its session, for the server: its parse workers)."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(15)
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        elif process.poll() is None:
            process.kill()
    process.wait()


@contextmanager
def running_upstream(log: Path) -> Iterator[str]:
    """bench/_hostile_upstream.py on a free port; its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "bench._hostile_upstream", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _until(base + "/stats", process, log)
        yield base
    finally:
        _stop(process, group=False)


@dataclass(frozen=True)
class Server:
    pid: int  # also its process group: it runs in a session of its own
    port: int
    log: Path
    memory: Memory

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def server_env(workdir: Path, key: str) -> dict[str, str]:
    kept = {name: value for name, value in os.environ.items() if not name.startswith("TIMELINE_")}
    return {
        **kept,
        "TIMELINE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hostile.db'}",
        "TIMELINE_API_KEYS": key,
        "TIMELINE_ALLOW_PRIVATE_SOURCES": "1",
        "TIMELINE_RESPECT_ROBOTS": "0",
        "TIMELINE_POLL_INTERVAL": "1",
        "TIMELINE_POLL_MIN_INTERVAL": "1",
        "TIMELINE_POLL_MAX_INTERVAL": "2",
    }


@contextmanager
def running_server(workdir: Path, key: str, cpu: int | None) -> Iterator[Server]:
    """`timeline serve` on a fresh SQLite file in `workdir`, answering /healthz; stopped on exit."""
    port, log = free_port(), workdir / "server.log"
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    command = [*pin, sys.executable, "-m", "timeline", "serve", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=server_env(workdir, key),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its parse workers join its group, which _stop can end as one
        )
    try:
        _until(f"http://127.0.0.1:{port}/healthz", process, log)
        yield Server(process.pid, port, log, Memory(process.pid))
    finally:
        _stop(process, group=True)


# --- the prober (a process of its own) -----------------------------------------------------------------


def probe(port: int, rate: int, seconds: int, results: Queue[dict[str, Any]]) -> None:
    """`GET /healthz` `rate` times a second on one keep-alive connection; each latency counts from when
    the request was due, so a stall also counts against the requests that waited behind it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    for i in range(rate * seconds):
        due = start + i / rate
        if (pause := due - time.perf_counter()) > 0:
            time.sleep(pause)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()  # the next request opens a new connection
            continue
        if response.status != 200:
            errors += 1
            continue
        latencies.append(time.perf_counter() - due)
    connection.close()
    results.put({"latencies": latencies, "errors": errors})
