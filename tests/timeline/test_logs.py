"""timeline.logs: records leave the logging thread through a bounded queue, and only the writer thread
waits for the output. Outputs here are real pipes that nothing reads until a test says so."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.upstream import Upstream, respond
from timeline.logs import DROPPED, TEXT_FORMAT, JsonFormatter, LogQueue

PIPE_BYTES = 64 * 1024  # a Linux pipe's default capacity
LONG = "x" * (PIPE_BYTES + 16 * 1024)  # a line the writer cannot finish until the pipe is read
NOTICE = re.compile(DROPPED.replace("%d", r"(\d+)"))
PLAIN = logging.Formatter("%(message)s")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Output:
    """A pipe for the writer to write to (`stream`); its other end is read from `read()` on."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.stream = open(write_end, "w", encoding="utf-8")  # noqa: SIM115 closed by close()
        self._reader = threading.Thread(target=self._read_all, args=(read_end,), daemon=True)
        self._text: Future[str] = Future()

    def read(self) -> None:
        if self._reader.ident is None:
            self._reader.start()

    def close(self) -> None:
        self.read()
        self.stream.close()

    def text(self) -> str:
        """Everything written, once closed."""
        return self._text.result(timeout=10)

    def _read_all(self, fd: int) -> None:
        with open(fd, "rb") as source:
            self._text.set_result(source.read().decode())


@contextmanager
def queued(
    formatter: logging.Formatter = PLAIN, capacity: int = 100
) -> Iterator[tuple[logging.Logger, LogQueue, Output]]:
    """A logger whose records go through a `LogQueue` to a pipe, read from `Output.read()` on and at the
    end of the block, when the queue is closed."""
    output = Output()
    records = LogQueue(formatter, output.stream, capacity)
    log = logging.getLogger(f"tests.logs.{id(records)}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    log.addHandler(records.handler)
    try:
        yield log, records, output
    finally:
        log.removeHandler(records.handler)
        output.read()
        closed = records.close(10)
        output.close()
    assert closed, "the writer did not write out its queue"


def _until_taken(records: LogQueue) -> None:
    """Wait until the writer has taken every queued record (and is writing the last one)."""
    deadline = time.monotonic() + 10
    while not records.handler.queue.empty():
        assert time.monotonic() < deadline, "the writer took nothing from the queue"
        time.sleep(0.01)


def _log_records(log: logging.Logger, count: int) -> None:
    for n in range(count):
        log.info("record %04d %s", n, "x" * 1000)


def test_a_blocked_output_never_blocks_the_logging_thread() -> None:
    count = 2000  # a kilobyte each: far more than the pipe holds
    with queued(capacity=10) as (log, records, output):
        logging_all = threading.Thread(target=_log_records, args=(log, count), daemon=True)
        logging_all.start()
        logging_all.join(10)
        assert not logging_all.is_alive(), "logging waited for the output"
        dropped = records.dropped
        assert dropped > count / 2
        output.read()
        _until_taken(records)
        log.info("after")
    lines = output.text().splitlines()
    numbers = [int(line.split()[1]) for line in lines if line.startswith("record ")]
    reported = [int(found[1]) for line in lines if (found := NOTICE.fullmatch(line))]
    assert numbers == sorted(set(numbers)), "records written out of order, or twice"
    assert len(numbers) + sum(reported) == count and sum(reported) == dropped
    assert lines[-1] == "after"


def test_records_that_do_not_fit_are_counted_and_reported_once_there_is_room() -> None:
    with queued(capacity=10) as (log, records, output):
        log.info(LONG)
        _until_taken(records)  # the writer is stuck in the middle of LONG until the pipe is read
        for n in range(15):
            log.info("record %d", n)
        assert records.dropped == 5
        output.read()
        _until_taken(records)
        log.info("after")
    lines = output.text().splitlines()
    assert lines[1:] == [*(f"record {n}" for n in range(10)), DROPPED % 5, "after"]
    assert records.dropped == 5


def test_closing_reports_the_records_dropped_since_the_last_line() -> None:
    with queued(capacity=10) as (log, records, output):
        log.info(LONG)
        _until_taken(records)
        for n in range(12):
            log.info("record %d", n)
    # Closed at the end of the block: once the pipe is read, the queue and then the count are written.
    assert output.text().splitlines()[-3:] == ["record 8", "record 9", DROPPED % 2]


def test_arguments_are_read_when_logged_not_when_written() -> None:
    with queued() as (log, records, output):
        log.info(LONG)
        _until_taken(records)  # the writer is stuck in LONG: it formats the next line only later
        shown = ["as logged"]
        log.info("state %s", shown)
        shown[0] = "changed since"
    assert output.text().splitlines()[-1] == "state ['as logged']"


def _crash(log: logging.Logger) -> None:
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.exception("poll of %s crashed", "src_1")


def test_a_traceback_follows_its_message_in_text() -> None:
    with queued(logging.Formatter(TEXT_FORMAT)) as (log, _, output):
        _crash(log)
    text = output.text()
    assert re.match(r"\S+ \S+ ERROR tests\.logs\.\d+: poll of src_1 crashed\nTraceback \(most recent", text)
    assert "in _crash\n    1 / 0" in text
    assert text.endswith("ZeroDivisionError: division by zero\n")


def test_json_lines_carry_the_record_s_fields_and_its_traceback() -> None:
    fields = {"source": "src_1", "status": "changed", "new": 2, "error": None}
    with queued(JsonFormatter()) as (log, _, output):
        log.info("poll source=src_1 status=changed", extra={"poll": fields})
        log.warning(
            "fetch %s status=%d", "http://x.example/", 404, extra={"url": "http://x.example/", "status": 404}
        )
        _crash(log)
    poll, fetch, crash = (_without_time(orjson.loads(line)) for line in output.text().splitlines())
    assert poll == {
        "level": "INFO",
        "logger": log_name(poll),
        "message": "poll source=src_1 status=changed",
        **fields,
    }
    assert fetch == {
        "level": "WARNING",
        "logger": log_name(fetch),
        "message": "fetch http://x.example/ status=404",
        "url": "http://x.example/",
        "status": 404,
    }
    assert crash["message"] == "poll of src_1 crashed"
    assert crash["exception"].startswith("Traceback (most recent call last):\n")
    assert crash["exception"].endswith("ZeroDivisionError: division by zero")


def log_name(line: dict[str, Any]) -> str:
    name = line["logger"]
    assert isinstance(name, str) and name.startswith("tests.logs.")
    return name


def _without_time(line: dict[str, Any]) -> dict[str, Any]:
    assert TIME.fullmatch(line.pop("time")), line
    return line


def test_a_record_that_cannot_be_formatted_is_reported_in_the_output(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with queued() as (log, _, output):
        log.info("%d sources", "many")
    assert output.text().startswith("could not log a record from ")
    assert "test_logs.py" in output.text()
    assert capfd.readouterr().err == ""  # not printed from the logging thread, where it could block


def timeline(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    kept = {name: value for name, value in os.environ.items() if not name.startswith("TIMELINE_")}
    command = [sys.executable, "-m", "timeline", *args]
    return subprocess.run(
        command, env={**kept, **env}, capture_output=True, text=True, check=False, timeout=60
    )


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("TIMELINE_LOG_LEVEL", "loud", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'loud'"),
        ("TIMELINE_LOG_FORMAT", "xml", "must be text or json, not 'xml'"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(tmp_path: Path, variable: str, value: str, said: str) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}"
    done = timeline("migrate", **{variable: value, "TIMELINE_DATABASE_URL": database})
    assert (done.returncode, done.stderr) == (1, f"timeline: {variable} {said}\n")


async def test_one_shot_commands_log_fetches_only_when_asked() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}'
    route = respond("200 OK", {"Content-Type": "application/feed+json"}, body)
    async with Upstream(routes={"/feed": route}) as upstream:
        url = upstream.url("/feed")
        quiet = await _poll(url)
        as_json = await _poll(url, TIMELINE_LOG_LEVEL="info", TIMELINE_LOG_FORMAT="json")
    assert quiet.stderr.splitlines() == ["0 events (0 key, 0 pinned) from syndication"]
    fetched = [line for line in map(orjson.loads, as_json.stderr.splitlines()[:-1]) if line.get("url") == url]
    assert [(line["logger"], line["status"]) for line in fetched] == [("feeds.fetch", 200)]


async def _poll(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`timeline poll URL` in a thread, while this loop serves the upstream."""
    allowed = {"TIMELINE_ALLOW_PRIVATE_SOURCES": "1", "TIMELINE_RESPECT_ROBOTS": "0"}
    return await asyncio.to_thread(timeline, "poll", url, **allowed, **env)
