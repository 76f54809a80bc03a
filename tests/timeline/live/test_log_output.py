"""`timeline serve` whose output goes to a pipe nobody reads, as under a stalled log shipper: the pipe is
full after 64 KB, yet the server keeps answering and polling, and says afterwards what it had to drop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from tests.timeline.live.processes import CLEAN_EXITS, EXIT_WAIT, REPO, START_WAIT, live_env, server
from tests.upstream import GuardianBlog, Upstream, closed_port, snapshot
from timeline.store import Store

SOURCES = 300
ANSWER_WITHIN = 2.0  # seconds: not a benchmark, only "does not hang"
WAIT = 60.0  # seconds for each stage, generous for a busy machine
PIPE_BYTES = 64 * 1024  # a Linux pipe's default capacity
LINE_BYTES = 100  # fewer than any fetch or poll line takes
DROPPED_LINE = re.compile(r"dropped (\d+) log records while the output was blocked")
DROPPED_METRIC = "timeline_log_records_dropped_total"


class Unread:
    """The read end of a process's stdout and stderr, read only between `read()` and `pause()`."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._chunks: list[bytes] = []
        self._reading = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def read(self) -> None:
        self._reading.set()

    def pause(self) -> None:
        """Stop reading, after at most the one read under way."""
        self._reading.clear()

    def text(self) -> str:
        return b"".join(self._chunks).decode(errors="replace")

    def _read(self) -> None:
        while self._reading.wait() and (chunk := os.read(self._fd, 65536)):
            self._chunks.append(chunk)
        os.close(self._fd)


@dataclass
class Served:
    process: asyncio.subprocess.Process
    http: httpx.AsyncClient
    output: Unread

    async def stop(self, *, read_after: float = 0.0) -> int:
        """SIGTERM, then read the output from `read_after` seconds on until the process ends; its status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(read_after)
        self.output.read()
        try:
            async with asyncio.timeout(EXIT_WAIT):
                return await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError("timeline serve did not end after SIGTERM") from None


async def test_a_server_whose_output_nobody_reads_keeps_answering_and_polling(sqlite_url: str) -> None:
    blog = GuardianBlog()
    blog.post("b1", "Polls open", minute=0)
    paths = [f"/blog/{n}" for n in range(SOURCES)]
    async with Upstream(routes={path: snapshot(blog.render) for path in paths}) as upstream:
        await _attach(sqlite_url, [upstream.url(path) for path in paths])
        env = live_env(
            sqlite_url,
            TIMELINE_POLL_INTERVAL="1",
            TIMELINE_POLL_MIN_INTERVAL="1",
            TIMELINE_POLL_MAX_INTERVAL="1",
            TIMELINE_POLL_PER_HOST="50",
            TIMELINE_LOG_QUEUE="100",
        )
        async with serving(env) as served:
            http, output = served.http, served.output
            await _until(http, "the pipe and the log queue to fill", lambda: _full(http))
            since = await _latest_success(http)
            await _until(http, "a poll succeeding after that", lambda: _success_after(http, since))
            dropped = await _metric(http, DROPPED_METRIC)

            output.read()
            await _until(http, "the line about dropped records", lambda: _said(output, DROPPED_LINE))
            reported, dropped_now = _reported(output.text()), await _metric(http, DROPPED_METRIC)
            # Every drop before the pipe was read is in the line, and no line claims more than the metric.
            assert 0 < dropped <= reported <= dropped_now, output.text()[-2000:]

            output.pause()
            await _until(http, "the output to block again", lambda: _dropped_beyond(http, dropped_now))
            dropped = await _metric(http, DROPPED_METRIC)
            # Read only once uvicorn has shut down and raised SIGTERM again: the queue is written even so.
            assert await served.stop(read_after=1.0) in CLEAN_EXITS[signal.SIGTERM], output.text()[-2000:]
    said = output.text()
    assert _reported(said) >= dropped, said[-2000:]
    assert "Traceback" not in said and "ERROR" not in said, said[-2000:]


async def _attach(database_url: str, urls: list[str]) -> None:
    async with await Store.open(database_url, migrate=True) as store:
        timeline = await store.create_timeline("Election night")
        for url in urls:
            await store.add_source(timeline.id, url, "guardian")


@asynccontextmanager
async def serving(env: dict[str, str]) -> AsyncIterator[Served]:
    """`timeline serve` with stdout and stderr on one pipe that nothing reads until the test says so
    (and on the way out, so that the server can write its last lines and end)."""
    port = closed_port()
    read_end, write_end = os.pipe()
    command = [sys.executable, "-m", "timeline", "serve", "--port", str(port)]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=REPO, stdout=write_end, stderr=write_end
    )
    os.close(write_end)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        served = Served(process, http, Unread(read_end))
        try:
            await _started(http, process)
            yield served
        finally:
            await served.stop()


async def _started(http: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(START_WAIT):
        while process.returncode is None:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz", timeout=ANSWER_WITHIN)).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise AssertionError(f"timeline serve exited with {process.returncode}")


async def _get(http: httpx.AsyncClient, path: str) -> httpx.Response:
    """GET `path`, failing the test when the server takes longer than ANSWER_WITHIN to answer."""
    try:
        async with asyncio.timeout(ANSWER_WITHIN):
            response = await http.get(path)
    except TimeoutError:
        raise AssertionError(f"GET {path} got no answer within {ANSWER_WITHIN} s: the server hangs") from None
    assert response.status_code == 200, response.text
    return response


async def _until(http: httpx.AsyncClient, what: str, done: Callable[[], Awaitable[bool]]) -> None:
    """Wait for `done`, checking all along that the server answers /healthz at once."""
    try:
        async with asyncio.timeout(WAIT):
            while not await done():
                await _get(http, "/healthz")
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"waited {WAIT} s for {what}") from None


async def _metric(http: httpx.AsyncClient, name: str) -> float:
    """The sum of the samples of `name` (0 when there are none)."""
    text = (await _get(http, "/metrics")).text
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE))


async def _full(http: httpx.AsyncClient) -> bool:
    """Polls have written several times what the pipe holds, and records were dropped."""
    polls = await _metric(http, "timeline_polls_total")
    return polls * 2 * LINE_BYTES > 4 * PIPE_BYTES and await _metric(http, DROPPED_METRIC) > 0


async def _latest_success(http: httpx.AsyncClient) -> datetime:
    sources = (await _get(http, "/api/v1/sources")).json()
    times = [source["health"]["last_success_at"] for source in sources]
    return max(
        (datetime.fromisoformat(time) for time in times if time), default=datetime.min.replace(tzinfo=UTC)
    )


async def _success_after(http: httpx.AsyncClient, since: datetime) -> bool:
    return await _latest_success(http) > since


async def _dropped_beyond(http: httpx.AsyncClient, count: float) -> bool:
    return await _metric(http, DROPPED_METRIC) > count


async def _said(output: Unread, line: re.Pattern[str]) -> bool:
    return line.search(output.text()) is not None


def _reported(said: str) -> int:
    """The records the lines in `said` report dropped."""
    return sum(int(count) for count in DROPPED_LINE.findall(said))


async def test_warning_level_keeps_only_failed_polls_and_json_lines_carry_their_fields(
    tmp_path: Path, sqlite_url: str
) -> None:
    blog = GuardianBlog()
    blog.post("b1", "Polls open", minute=0)
    async with Upstream(routes={"/blog": snapshot(blog.render)}) as upstream:
        await _attach(sqlite_url, [upstream.url("/blog"), upstream.url("/missing")])
        env = live_env(sqlite_url, TIMELINE_LOG_LEVEL="WARNING", TIMELINE_LOG_FORMAT="json")
        async with (
            server("serve", env, tmp_path / "serve.log") as serve,
            httpx.AsyncClient(base_url=serve.url) as http,
        ):
            await _until(http, "polls of both sources", lambda: _polled(http, ok=2, failed=2))
    lines = [orjson.loads(line) for line in serve.output().splitlines() if line.startswith("{")]
    polls = [line for line in lines if line["message"].startswith("poll ")]
    assert {line["level"] for line in lines} == {"WARNING"}
    assert polls and all(line["url"] == upstream.url("/missing") for line in polls)
    assert all(line["status"] == "failed" and line["source"].startswith("src_") for line in polls)


async def _polled(http: httpx.AsyncClient, *, ok: int, failed: int) -> bool:
    text = (await _get(http, "/metrics")).text
    counts = {
        kind: float(count)
        for kind, count in re.findall(r'^timeline_polls_total{outcome="(\w+)"} (\S+)$', text, re.MULTILINE)
    }
    return counts.pop("failed", 0) >= failed and sum(counts.values()) >= ok
