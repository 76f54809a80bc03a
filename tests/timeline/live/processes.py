"""`timeline` processes for the live tests: started on a free port, watched, and always taken down.

A server counts as started once it answers /healthz; a worker once it says it polls. On the way out each
one gets SIGTERM (or the signal a test chose) and must exit cleanly, without a traceback or an ERROR line.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.timeline.api.support import KEY
from tests.upstream import closed_port

REPO = Path(__file__).resolve().parents[3]
START_WAIT = 30.0  # seconds: generous, a slow machine must not fail this
EXIT_WAIT = 15.0
# After a graceful shutdown uvicorn re-raises the signal it caught: SIGTERM then ends the process, and
# SIGINT becomes a KeyboardInterrupt that click reports as "Aborted!" with status 1.
CLEAN_EXITS: dict[int, tuple[int, ...]] = {
    signal.SIGTERM: (0, -signal.SIGTERM),
    signal.SIGINT: (0, -signal.SIGINT, 1),
    signal.SIGKILL: (-signal.SIGKILL,),  # a crash the test caused on purpose
}


def live_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of every process in these tests: a key, local upstreams, fast polls."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith("TIMELINE_")}
    return {
        **kept,
        "TIMELINE_DATABASE_URL": database_url,
        "TIMELINE_API_KEYS": KEY,
        "TIMELINE_ALLOW_PRIVATE_SOURCES": "1",
        "TIMELINE_RESPECT_ROBOTS": "0",
        "TIMELINE_POLL_INTERVAL": "0.5",
        "TIMELINE_POLL_MIN_INTERVAL": "0.5",
        "TIMELINE_POLL_MAX_INTERVAL": "2",
        **extra,
    }


@dataclass
class Process:
    process: asyncio.subprocess.Process
    log: Path
    url: str = ""
    stopped_by: int | None = None  # the signal sent to stop it

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_kib(self) -> int:
        """Resident memory of the process now (VmRSS)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        found = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.MULTILINE)
        assert found is not None, status
        return int(found[1])

    async def metric(self, name: str) -> float:
        """One unlabelled sample of the server's /metrics."""
        async with httpx.AsyncClient(base_url=self.url, timeout=START_WAIT) as http:
            text = (await http.get("/metrics")).text
        found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        assert found is not None, f"{name} not in /metrics"
        return float(found[1])

    async def until_metric(self, name: str, value: float, timeout: float = START_WAIT) -> None:
        """Wait until the sample `name` of /metrics is `value`."""
        try:
            async with asyncio.timeout(timeout):
                while await self.metric(name) != value:
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"{name} is {await self.metric(name)}, not {value}") from None

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send `signum` (unless stopped already) and wait for the exit; its return code."""
        if self.process.returncode is None and self.stopped_by is None:
            self.stopped_by = signum
            self.process.send_signal(signum)
        try:
            async with asyncio.timeout(EXIT_WAIT):
                return await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"{self.log.stem} ignored signal {signum}:\n{self.output()}") from None


@asynccontextmanager
async def running(
    args: list[str],
    env: dict[str, str],
    log: Path,
    *,
    port: int = 0,
    module: str = "timeline",
    tolerate: tuple[str, ...] = (),
) -> AsyncIterator[Process]:
    """`python -m MODULE ARGS` until the block ends; then stopped and checked for a clean exit, where only
    log lines containing one of `tolerate` may say ERROR."""
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args,
            env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    started = Process(process, log, f"http://127.0.0.1:{port}" if port else "")
    try:
        await (_until_healthy(started) if port else _until_said(started, "Polling sources"))
        yield started
    finally:
        returncode = await started.stop()
    output = started.output()
    assert returncode in CLEAN_EXITS[started.stopped_by or signal.SIGTERM], f"exit {returncode}:\n{output}"
    unexpected = [line for line in output.splitlines() if not any(text in line for text in tolerate)]
    assert not any("Traceback" in line or "ERROR" in line for line in unexpected), output


@asynccontextmanager
async def server(
    command: str, env: dict[str, str], log: Path, *, module: str = "timeline", tolerate: tuple[str, ...] = ()
) -> AsyncIterator[Process]:
    """`timeline serve|api --port FREE`, answering /healthz."""
    port = closed_port()
    args = [command, "--port", str(port)]
    async with running(args, env, log, port=port, module=module, tolerate=tolerate) as started:
        yield started


async def _until_healthy(started: Process) -> None:
    async with httpx.AsyncClient(base_url=started.url) as http:
        await _until(started, lambda: _healthy(http))


async def _healthy(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False


async def _until_said(started: Process, text: str) -> None:
    async def said() -> bool:
        return text in started.output()

    await _until(started, said)


async def _until(started: Process, ready: Callable[[], Awaitable[bool]]) -> None:
    try:
        async with asyncio.timeout(START_WAIT):
            while started.process.returncode is None:
                if await ready():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not ready within {START_WAIT} s:\n{started.output()}") from None
    raise AssertionError(f"exited with {started.process.returncode}:\n{started.output()}")


async def migrated(env: dict[str, str]) -> None:
    """`timeline migrate` on the database of `env`."""
    command = [sys.executable, "-m", "timeline", "migrate"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, cwd=REPO, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
