"""The processes of bench/sse.py: the API server, the load processes, and CPU accounting across them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from bench._cpu import group_cpu, machine_cpu, own_cpu
from bench.api import OUT, ROOT, _free_port, _stop, _wait_healthy
from timeline.store import Store

# --- processes -----------------------------------------------------------------------------------------


@dataclass
class Child:
    """A process we started in a session of its own, talked to by lines on stdin and stdout."""

    process: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.process.pid

    def tell(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, word: str) -> list[str]:
        """The next stdout line, which must start with `word`; its other fields."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(word):
            raise RuntimeError(f"process {self.pid} said {line!r}, not {word}; exit {self.process.poll()}")
        return line.split()[1:]

    def cpu(self) -> float:
        return group_cpu(self.pid)

    def rss_kib(self) -> int:
        found = re.search(r"^VmRSS:\s+(\d+) kB$", Path(f"/proc/{self.pid}/status").read_text(), re.MULTILINE)
        assert found is not None
        return int(found[1])


def _start(command: list[str], cpu: int | None, log: IO[bytes], env: dict[str, str] | None = None) -> Child:
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    process = subprocess.Popen(
        [*pin, sys.executable, "-m", *command],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
        start_new_session=True,  # Ctrl-C reaches only us, and we stop it
    )  # fmt: skip
    return Child(process)


@dataclass(frozen=True)
class Bench:
    url: str
    timeline_id: str
    source_id: str
    commits: Path


async def _timeline(url: str) -> tuple[str, str]:
    now = datetime.now(UTC)
    async with await Store.open(url, migrate=True) as store:
        timeline = await store.create_timeline("SSE bench", slug="bench-sse", now=now)
        source = await store.add_source(timeline.id, "https://news.example/live/sse", "guardian", now=now)
    return timeline.id, source.id


def fresh_bench() -> Bench:
    for old in OUT.glob("sse.db*"):
        old.unlink()
    url = f"sqlite+aiosqlite:///{OUT / 'sse.db'}"
    timeline_id, source_id = asyncio.run(_timeline(url))
    commits = OUT / "sse-commits.txt"
    commits.unlink(missing_ok=True)
    return Bench(url, timeline_id, source_id, commits)


@contextmanager
def api_server(bench: Bench, clients: int, cpu: int | None) -> Iterator[tuple[Child, str]]:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TIMELINE_")},
        "TIMELINE_DATABASE_URL": bench.url,
        "TIMELINE_MAX_STREAMS": str(clients + 100),
    }
    command = ["bench._sse_server", "--port", str(port), "--source", bench.source_id]
    with (OUT / "sse-server.log").open("wb") as log:
        server = _start([*command, "--commits", str(bench.commits)], cpu, log, env)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(server.process, base, OUT / "sse-server.log")  # type: ignore[arg-type]
            yield server, base
        finally:
            assert server.process.stdin is not None
            server.process.stdin.close()
            _stop(server.process)  # type: ignore[arg-type]


@contextmanager
def loaders(port: int, bench: Bench, clients: int, count: int, cpu: int | None) -> Iterator[list[Child]]:
    started: list[Child] = []
    with (OUT / "sse-load.log").open("wb") as log:
        try:
            for i in range(count):
                first, share = clients * i // count, clients * (i + 1) // count - clients * i // count
                command = ["bench._sse_load", "--port", str(port), "--timeline", bench.timeline_id]
                command += ["--clients", str(share), "--first", str(first), "--out", str(receipts_path(i))]
                started.append(_start(command, cpu, log))
            yield started
        finally:
            for child in started:
                with contextlib.suppress(OSError):
                    assert child.process.stdin is not None
                    child.process.stdin.close()
                _stop(child.process)  # type: ignore[arg-type]


def receipts_path(loader: int) -> Path:
    return OUT / f"sse-receipts-{loader}.bin"


# --- CPU and quiet -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuMark:
    at: float
    machine: float
    server: float
    load: float
    own: float

    @classmethod
    def now(cls, server: Child, load: list[Child]) -> CpuMark:
        return cls(time.monotonic(), machine_cpu(), server.cpu(), sum(c.cpu() for c in load), own_cpu())

    def cores(self, start: CpuMark) -> tuple[float, float, float]:
        """Cores used since `start` by the server, the load processes and everything else."""
        wall = self.at - start.at
        server, load = self.server - start.server, self.load - start.load
        others = self.machine - start.machine - server - load - (self.own - start.own)
        return server / wall, load / wall, max(0.0, others) / wall


def wait_quiet(server: Child, load: list[Child], limit: float, threshold: float = 0.1) -> float:
    """Until other processes use less than `threshold` of a core for a second (at most `limit` s); the
    last second's figure."""
    deadline = time.monotonic() + limit
    while True:
        start = CpuMark.now(server, load)
        time.sleep(1)
        others = CpuMark.now(server, load).cores(start)[2]
        if others < threshold or time.monotonic() > deadline:
            return others
