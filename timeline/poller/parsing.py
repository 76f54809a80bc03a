"""Parsing in worker processes: upstream bytes become drafts away from any event loop, within limits.

Parsing and normalizing are the CPU-bound part of a poll, and their cost depends on what an upstream
sends: a deeply nested or enormous document could hold a process for seconds and take gigabytes. So they
run in a small pool of worker processes. Each job has a wall-time budget and each worker a memory
ceiling; a job over either ends with `ParseTimeoutError` / `ParseTooLargeError` and its worker is
replaced, so one hostile feed fails alone while the service and the other polls go on.

A job carries the raw hashes of its source's stored updates (tens of kilobytes beside a document of
megabytes), and only the drafts of the updates it did not know come back, with the hashes of those it
did (not the document): a re-poll of a long blog sends back kilobytes instead of megabytes. The drafts
come pickled over a pipe in chunks: unpickling thousands of drafts holds the GIL, and in one piece it
would stall the caller's event loop for tens of milliseconds; between chunks the receiving thread waits
on the pipe and lets the loop run. The workers are forked from a
forkserver that has imported the adapters once, so replacing a killed worker costs milliseconds, and they
start when the first job needs them (an API process that never parses never starts one).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import multiprocessing
import os
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from feeds.adapters import parse
from feeds.errors import ParseError, ParseTimeoutError, ParseTooLargeError
from feeds.types import DEFAULT_LIMITS, Limits
from timeline.models import EventDraft
from timeline.normalize import normalize

__all__ = ["ParseJob", "ParseLimits", "ParsePool", "Parsed", "ParserCrashedError", "default_workers"]

log = logging.getLogger("timeline.poller")

_MB = 1024 * 1024
_CHUNK = 200  # drafts per message of a reply: each unpickles in a few milliseconds


class ParserCrashedError(Exception):
    """A bug, not the upstream's fault: parsing raised something no adapter should raise."""

    kind = "internal"

    def __init__(self, message: str, details: str) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """What one job may take (time, memory) and what a document may hold (`feeds.Limits`)."""

    timeout: float = 10.0  # seconds of wall time per job
    memory_mb: int = 512  # address space a worker may add to what it holds when idle
    document: Limits = DEFAULT_LIMITS


@dataclass(frozen=True, slots=True)
class ParseJob:
    """One document to parse as the updates of `source_id`; `now` dates updates that carry no time, and
    updates whose raw hash is `known` (stored already, unchanged) are not normalized again."""

    body: bytes
    base_url: str
    source_id: str
    now: datetime
    adapter: str = "auto"
    content_type: str | None = None
    known: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a document said, normalized: `ParsedSnapshot` without the raw updates, plus the drafts."""

    adapter: str
    title: str | None
    complete: bool
    ended: bool
    warnings: tuple[str, ...]
    drafts: list[EventDraft]  # of the updates not known
    coverage_start: datetime | None = None  # as the source declares it (JSON-LD)
    coverage_end: datetime | None = None
    seen: list[str] = dataclasses.field(default_factory=list)  # raw hashes of the known updates listed


def default_workers() -> int:
    """One worker per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run_job(job: ParseJob, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    """Parse and normalize `job` here (what a worker does). Raises `ParseError` for unreadable input."""
    snapshot = parse(
        job.body, job.base_url, adapter=job.adapter, content_type=job.content_type, limits=limits
    )
    normalized = normalize(snapshot, source_id=job.source_id, now=job.now, known=job.known)
    return Parsed(
        snapshot.adapter,
        snapshot.title,
        snapshot.complete,
        snapshot.ended,
        snapshot.warnings,
        normalized.drafts,
        snapshot.coverage_start,
        snapshot.coverage_end,
        normalized.seen,
    )


# What a worker answers: ("ok", Parsed), ("error", ParseError subclass, message) or ("crash", traceback).
# On the pipe, "ok" comes as ("ok", Parsed without drafts, N) followed by N lists of drafts.
Reply = tuple[Any, ...]


def _answer(job: ParseJob, limits: Limits) -> Reply:
    try:
        return ("ok", run_job(job, limits))
    except MemoryError:
        return ("error", ParseTooLargeError, "")
    except ParseError as exc:
        return ("error", type(exc), exc.message)
    except Exception:  # a bug in an adapter: the parent logs it and the poll ends as `internal`
        return ("crash", traceback.format_exc())


def _serve(conn: Connection, limits: ParseLimits) -> None:
    """A worker's life: answer jobs until the pipe closes."""
    # What the forkserver made is never garbage: without this, the worker's first collections walk
    # every object it inherited (a fifth of a second), and touching them un-shares their pages.
    gc.freeze()
    _limit_memory(limits.memory_mb)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        except MemoryError:  # the document alone is over the ceiling; the pool replaces this worker
            conn.send(("error", ParseTooLargeError, ""))
            continue
        reply = _answer(job, limits.document)
        del job  # the document's bytes may be most of what the worker holds
        try:
            _send(conn, reply)
        except MemoryError:
            conn.send(("error", ParseTooLargeError, ""))


def _send(conn: Connection, reply: Reply) -> None:
    if reply[0] != "ok":
        conn.send(reply)
        return
    drafts = reply[1].drafts
    chunks = [drafts[start : start + _CHUNK] for start in range(0, len(drafts), _CHUNK)]
    conn.send(("ok", dataclasses.replace(reply[1], drafts=[]), len(chunks)))
    for chunk in chunks:
        conn.send(chunk)


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at what the idle worker has mapped plus `memory_mb`, so a hostile document
    raises MemoryError in here instead of growing until the machine's OOM killer picks a victim."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        return  # not Linux: the time budget still holds
    ceiling = mapped + memory_mb * _MB
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def roundtrip(self, job: ParseJob, timeout: float) -> Reply:
        """Send `job` and wait up to `timeout` seconds for the reply (in a thread of the pool's)."""
        try:
            self.conn.send(job)
            if not self.conn.poll(timeout):
                return ("timeout",)
            reply: Reply = self._receive()
        # It died, or the pool closed and stopped it (a pipe closed in the middle of a write fails with
        # TypeError, its handle gone).
        except (EOFError, OSError, TypeError):
            self.process.join(timeout=1)
            return ("died", self.process.exitcode)
        return reply

    def _receive(self) -> Reply:
        reply: Reply = self.conn.recv()
        if reply[0] != "ok":
            return reply
        drafts: list[EventDraft] = []
        for _ in range(reply[2]):
            chunk = self.conn.recv()
            if not isinstance(chunk, list):  # the worker failed half-way through its answer
                return tuple(chunk)
            drafts += chunk
        return ("ok", dataclasses.replace(reply[1], drafts=drafts))

    def stop(self) -> None:
        """Kill the worker at once (it may be busy with a hostile document) and reap it."""
        with contextlib.suppress(OSError):
            self.conn.close()
        self.process.kill()
        self.process.join(timeout=5)


class ParsePool:
    """Up to `workers` processes parsing one job each; `async with` or `close()` to stop them.

    Each job runs in one of `workers` threads of ours, which hands it to an idle process (forking one
    when none is idle) and waits for the answer, so no event loop waits and the pool belongs to none: a
    caller that gives up (a cancelled poll) leaves its job to finish within its budget.
    """

    def __init__(self, workers: int, limits: ParseLimits = ParseLimits()) -> None:
        if workers < 1:
            raise ValueError("a parse pool needs at least one worker")
        self._limits = limits
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="parse")
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([__name__])

    async def __aenter__(self) -> ParsePool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    async def parse(self, job: ParseJob) -> Parsed:
        """`run_job(job)` in a worker. Raises `ParseError` (`ParseTimeoutError`, `ParseTooLargeError`
        among them) for a document that cannot be read within limits, `ParserCrashedError` for a bug."""
        reply = await asyncio.get_running_loop().run_in_executor(self._threads, self._run, job)
        return self._result(reply, job)

    def close(self) -> None:
        """Stop every worker, busy or not (their jobs end as `ParseTooLargeError`), and the threads."""
        with self._lock:
            workers, self._idle = list(self._workers), []
        for worker in workers:
            self._stop(worker)
        self._threads.shutdown(wait=True, cancel_futures=True)

    def _run(self, job: ParseJob) -> Reply:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        worker = worker or self._spawn()
        reply = worker.roundtrip(job, self._limits.timeout)
        # After a timeout, a death or an exhausted memory the worker is stopped, and a new one forked when
        # next needed; after an ordinary answer it waits for the next job.
        if reply[0] == "ok" or (reply[0] == "error" and reply[1] is not ParseTooLargeError):
            with self._lock:
                self._idle.append(worker)
        else:
            self._stop(worker)
        return reply

    def _stop(self, worker: _Worker) -> None:
        worker.stop()
        with self._lock:
            self._workers.discard(worker)

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, self._limits), name="timeline-parse", daemon=True
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._workers.add(worker)
        return worker

    def _result(self, reply: Reply, job: ParseJob) -> Parsed:
        status = reply[0]
        if status == "ok":
            parsed: Parsed = reply[1]
            return parsed
        if status == "error":
            error: type[ParseError] = reply[1]
            raise error(reply[2] or self._too_large(), url=job.base_url)
        if status == "timeout":
            raise ParseTimeoutError(self._too_slow(), url=job.base_url)
        if status == "died":
            raise ParseTooLargeError(self._too_large(f" (the parser stopped with code {reply[1]})"))
        raise ParserCrashedError(
            "parsing this document hit a bug in liveblog-timeline; the service log has the details",
            details=str(reply[1]),
        )

    def _too_slow(self) -> str:
        return (
            f"reading the document took longer than {self._limits.timeout:g} s and was stopped: it is far "
            "larger or more complex than a live blog (TIMELINE_PARSE_TIMEOUT sets the limit)"
        )

    def _too_large(self, why: str = "") -> str:
        return (
            f"reading the document needed more than {self._limits.memory_mb} MB of memory and was "
            f"stopped{why}: it is far larger than a live blog (TIMELINE_PARSE_MEMORY_MB sets the limit)"
        )
