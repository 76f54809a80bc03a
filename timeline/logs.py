"""Logging of every `timeline` process: one line per record on stderr, as text or JSON.

A process that serves HTTP or polls must never wait for its log output. A pipe that is read slowly or
not at all (a stalled log shipper, a paused terminal) is full after 64 KB, and then every write to it
blocks the thread that makes it; if that thread runs the event loop, every request and poll stops. So
long-running processes put their records on a bounded queue that one writer thread empties: only that
thread waits for the output. When the queue is full too, records are dropped, counted
(`dropped_records()`, the metric `timeline_log_records_dropped_total`), and reported in one line once the
queue has room again.

One-shot commands write each record as it comes, in order with what they print themselves.
"""

from __future__ import annotations

import atexit
import copy
import logging
import logging.handlers
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from queue import Full, Queue
from types import FrameType
from typing import Any, TextIO

import orjson

from timeline.settings import Settings

__all__ = [
    "TEXT_FORMAT",
    "JsonFormatter",
    "LogQueue",
    "QueueFullHandler",
    "configure_logging",
    "dropped_records",
]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DRAIN_TIMEOUT = 3.0  # seconds a process ending waits for a blocked output before its queued lines are lost
DROPPED = "dropped %d log records while the output was blocked"

_OURS = ("feeds", "timeline")
_STOP = None  # put on the queue after the last record to write

# Attributes every LogRecord has; whatever else a record carries came from `extra=`: its own fields.
# uvicorn adds `color_message`, its message again with terminal colours.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_TRACEBACKS = logging.Formatter()

_Item = logging.LogRecord | None
_SignalHandler = Callable[[int, FrameType | None], Any] | int | None


class QueueFullHandler(logging.handlers.QueueHandler):
    """Puts records on a bounded queue and never waits: a record that does not fit is dropped and
    counted, and the next one that fits comes after a line saying how many were lost."""

    queue: Queue[_Item]

    def __init__(self, records: Queue[_Item]) -> None:
        super().__init__(records)
        self.dropped = 0  # since the handler started, for the metric
        self._unreported = 0  # since the last line that said so

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """The record with its message and traceback as text, made now because its arguments and the
        frames of its exception may change before the writer gets to them; the line itself is
        formatted by the writer."""
        prepared = copy.copy(record)
        prepared.msg, prepared.args = record.getMessage(), None
        if record.exc_info:
            prepared.exc_text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
        prepared.exc_info = None
        return prepared

    def enqueue(self, record: logging.LogRecord) -> None:
        if self._unreported and self._offer(self._notice()):
            self._unreported = 0
        if not self._offer(record):
            self.dropped += 1
            self._unreported += 1

    def handleError(self, record: logging.LogRecord) -> None:
        # The default prints a traceback to stderr from the caller's thread: the very write that blocks.
        self.enqueue(self.prepare(_unloggable(record)))

    def report_dropped(self, timeout: float) -> None:
        """Queue the line about records dropped since the last one, waiting up to `timeout` for room."""
        self.acquire()
        try:
            if self._unreported:
                self.queue.put(self._notice(), timeout=timeout)
                self._unreported = 0
        finally:
            self.release()

    def _offer(self, record: logging.LogRecord) -> bool:
        try:
            self.queue.put_nowait(record)
        except Full:
            return False
        return True

    def _notice(self) -> logging.LogRecord:
        notice = logging.getLogger(__name__).makeRecord(
            __name__, logging.WARNING, __file__, 0, DROPPED, (self._unreported,), None,
            extra={"dropped": self._unreported},
        )  # fmt: skip
        return self.prepare(notice)


def _unloggable(record: logging.LogRecord) -> logging.LogRecord:
    """What to say instead of a record whose message cannot be built (arguments that do not fit)."""
    problem = sys.exc_info()[1]
    return logging.makeLogRecord(
        {
            "name": record.name,
            "levelno": logging.ERROR,
            "levelname": "ERROR",
            "msg": f"could not log a record from {record.pathname}:{record.lineno} ({problem!r})",
        }
    )


class LogQueue:
    """A bounded queue of records (filled by `handler`) and the one thread that writes them to `stream`,
    the only thread that waits when the output is blocked."""

    def __init__(self, formatter: logging.Formatter, stream: TextIO, capacity: int) -> None:
        records: Queue[_Item] = Queue(capacity)
        self.handler = QueueFullHandler(records)
        self._records = records
        self.formatter = formatter
        self._stream = stream
        # A daemon: a writer blocked on an output nobody reads must not keep the process alive.
        self._thread = threading.Thread(target=self._run, name="timeline-log-writer", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self.handler.dropped

    def close(self, timeout: float) -> bool:
        """Write everything queued so far (and how many records were dropped), then end the writer.
        False when the output stayed blocked for `timeout` seconds: what is still queued is lost."""
        if not self._thread.is_alive():
            return True
        deadline = time.monotonic() + timeout
        try:
            self.handler.report_dropped(timeout)
            self._records.put(_STOP, timeout=max(0.0, deadline - time.monotonic()))
        except Full:
            return False
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    def _run(self) -> None:
        while (record := self._records.get()) is not _STOP:
            self._write(record)

    def _write(self, record: logging.LogRecord) -> None:
        try:
            line = self.formatter.format(record)
        except Exception as exc:  # one bad record must not end the writer, and every later line with it
            line = f"could not format a log record from {record.name}: {exc!r}"
        try:
            self._stream.write(line + "\n")
            self._stream.flush()
        except (OSError, ValueError):
            pass  # the output is gone (closed, or its reader hung up): nothing left to tell


class JsonFormatter(logging.Formatter):
    """One JSON object per record: `time` (UTC), `level`, `logger`, `message`, then the fields the record
    was given (`extra=`), then `exception` and `stack` when it has them."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[Any, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _fields(record):
            line.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return orjson.dumps(line, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _utc(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fields(record: logging.LogRecord) -> Iterator[tuple[Any, Any]]:
    for key, value in vars(record).items():
        if key in _RECORD_ATTRIBUTES:
            continue
        if isinstance(value, Mapping):
            # A line's fields given as one group (`extra={"poll": fields}`) become keys of the line.
            yield from value.items()
        else:
            yield key, value


class _Installed:
    """What `configure_logging` put in place, so that calling it again replaces it."""

    handler: logging.Handler | None = None
    queue: LogQueue | None = None
    dropped_by_earlier_queues = 0  # so that the count never goes back, as a Prometheus counter must not
    exit_hooks = False


_installed = _Installed()


def configure_logging(settings: Settings, *, long_running: bool = False) -> None:
    """Send every record to stderr as `TIMELINE_LOG_FORMAT` says, at the levels `TIMELINE_LOG_LEVEL`
    sets for our own loggers (`feeds`, `timeline`; other libraries stay at WARNING and above).

    One-shot commands (`long_running=False`) write each record at once, at WARNING unless the level is
    set. Long-running processes log at INFO unless set, through a `LogQueue` of `TIMELINE_LOG_QUEUE`
    records, written out before the process ends (on SIGTERM too). Call it again to switch: `serve`
    starts as a one-shot command and becomes a long-running one once its server is set up, after
    uvicorn installed its own log handlers, which this routes through the queue as well.
    """
    formatter = JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    _stop_queue()
    if long_running:
        _installed.queue = LogQueue(formatter, sys.stderr, settings.log_queue)
        _install(_installed.queue.handler)
        _adopt("uvicorn")
        logging.captureWarnings(True)  # warnings print to stderr, from whichever thread warns
        _write_queue_on_exit()
    else:
        _install(_direct(formatter))
    _set_levels(settings.log_level, long_running=long_running)


def dropped_records() -> int:
    """Records this process dropped because its log output was blocked and its queue full."""
    running = _installed.queue.dropped if _installed.queue is not None else 0
    return _installed.dropped_by_earlier_queues + running


def _direct(formatter: logging.Formatter) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    return handler


def _install(handler: logging.Handler) -> None:
    root = logging.getLogger()
    if _installed.handler is not None:
        root.removeHandler(_installed.handler)
    root.addHandler(handler)
    _installed.handler = handler


def _adopt(name: str) -> None:
    """Let a library's logger write through ours instead of through handlers of its own."""
    logger = logging.getLogger(name)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True


def _set_levels(level: str | None, *, long_running: bool) -> None:
    chosen = logging.getLevelNamesMapping()[level or ("INFO" if long_running else "WARNING")]
    logging.getLogger().setLevel(max(chosen, logging.WARNING))
    for name in _OURS:
        logging.getLogger(name).setLevel(chosen)
    # A one-shot command reports a failed fetch itself; unless asked for, the fetcher's line repeats it.
    quiet_fetch = level is None and not long_running
    logging.getLogger("feeds.fetch").setLevel(logging.ERROR if quiet_fetch else logging.NOTSET)


def _stop_queue() -> bool:
    """End the running writer, if any, once it wrote what is queued; then records go out directly.
    False when the output stayed blocked: the queue and its writer are left, and their records lost."""
    running = _installed.queue
    if running is None:
        return True
    if not running.close(DRAIN_TIMEOUT):
        return False
    _installed.queue = None
    _installed.dropped_by_earlier_queues += running.dropped
    _install(_direct(running.formatter))
    return True


def _write_queue_on_exit() -> None:
    if _installed.exit_hooks:
        return
    _installed.exit_hooks = True
    atexit.register(_stop_queue)
    # SIGTERM's default action ends the process without exit handlers, and uvicorn, having shut down
    # for a SIGTERM, restores the handler it found and raises the signal again.
    signal.signal(signal.SIGTERM, _then(signal.getsignal(signal.SIGTERM)))


def _then(previous: _SignalHandler) -> Callable[[int, FrameType | None], None]:
    """A signal handler that writes out the queue, then does what `previous` would have done."""

    def handle(signum: int, frame: FrameType | None) -> None:
        _stop_queue()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    return handle
