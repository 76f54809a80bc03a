"""`GET /api/v1/timelines/{id}/stream`: Server-Sent Events of every change, resumable by seq.

The handler validates like any other, then hands the connection to plain ASGI code rather than a
Litestar `Stream`: that code must time out a send a reader never drains (so one slow reader cannot pin
memory) and notice a disconnect while idle, which a response body iterator cannot do.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

from timeline.api.deps import Services
from timeline.api.events import TimelineId
from timeline.api.problems import problem, problem_responses

log = logging.getLogger("timeline.api.stream")

SEND_TIMEOUT = 30.0  # a reader that takes longer to accept one write is dropped; it resumes by seq
RETRY_MS = 3000
GC_THRESHOLDS = (20_000, 50, 100)  # CPython's defaults: (700, 10, 10)
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: do not buffer the stream
]


def tune_gc() -> None:
    """Collect garbage less often: for a process that may hold thousands of streams (the CLI's servers).

    With CPython's defaults, the futures that every waiting stream holds between changes outlive young
    collections and pile up in the oldest generation, so a full collection ran every second or two and
    walked the ~110 objects of each open stream for nothing: 0.5 s at 10,000 streams, most of the p99 of
    delivery. Cycles are still collected, just less often.
    """
    gc.set_threshold(*GC_THRESHOLDS)


@dataclass(frozen=True, slots=True)
class _Stream:
    """What a stream needs once the handler has validated the request."""

    services: Services
    timeline_id: str
    since: int


class _EventStream(ASGIResponse):
    """The connection, served as plain ASGI: one frame on the handler's stack while it waits for the
    client to leave, and a task of its own (`_pump`, with a shallow stack) writing the frames: resuming
    the handler's deep stack of middleware for every frame would double the CPU per delivery, and each
    extra frame held per stream costs memory once for each of up to 10,000 open streams."""

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = self._stream.services
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        except BaseException:
            services.streams -= 1  # the handler's reservation; from here on the `finally` below frees it
            raise
        services.metrics.sse_clients.inc()
        pump = asyncio.create_task(_pump(self._stream, send))
        waiting = True

        def pump_ended(_: object) -> None:
            if waiting:
                pumped.reschedule(-1)  # stop waiting for the client now

        try:
            async with asyncio.timeout(None) as pumped:
                pump.add_done_callback(pump_ended)
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            pass
        finally:
            waiting = False
            pump.cancel()
            slow = (await asyncio.gather(pump, return_exceptions=True))[0] is True
            services.streams -= 1
            services.metrics.sse_clients.dec()
        if slow:
            log.info("dropped a slow SSE reader of %s; it can resume by seq", self._stream.timeline_id)


class EventStreamResponse(Response[bytes]):
    """A response that hands the connection to `_EventStream`."""

    def __init__(self, stream: _Stream) -> None:
        super().__init__(b"", media_type="text/event-stream")
        self._stream = stream

    def to_asgi_response(self, app: Any, request: Any, **_: Any) -> ASGIResponse:
        return _EventStream(self._stream)


class StreamController(Controller):
    path = "/api/v1/timelines/{timeline:str}"
    tags = ["live"]  # noqa: RUF012 (Litestar reads it as a class attribute)

    @get(
        "/stream",
        summary="Server-Sent Events: every change, live, resumable by seq",
        description="`text/event-stream`: each change is one event with `id: <seq>`, `event: upsert|delete` "
        "and `data:` the event as `/events` shows it. Resume with `Last-Event-ID` or `?since=SEQ`; without "
        "either, only changes from now on. A seq past the timeline's (a restored database, a timeline "
        're-created under the same slug) gets `event: reset` with `id:` and `data: {"last_seq": N}`, then '
        "the changes after N: reload what you show. A comment every 15 s keeps proxies from closing the "
        "stream.",
        responses={
            200: ResponseSpec(
                str, generate_examples=False, description="The stream.", media_type="text/event-stream"
            ),
            **problem_responses(400, 404, 503),
        },
    )
    async def stream(
        self,
        services: NamedDependency[Services],
        timeline: TimelineId,
        since: Annotated[
            int | None, QueryParameter(ge=0, description="Replay changes after this seq.")
        ] = None,
        last_event_id: Annotated[
            int | None,
            HeaderParameter(name="Last-Event-ID", ge=0, description="As `since`; browsers send it."),
        ] = None,
    ) -> Response[bytes]:
        if services.streams >= services.settings.max_streams:
            detail = "This server holds all the streams it can; retry in a few seconds or poll /events."
            return problem(503, "too_many_streams", "Too many streams", detail, headers={"Retry-After": "5"})
        # Reserved before any await, or a burst of requests would all pass the check above; the stream
        # frees it when it ends (`_EventStream`), and an error here frees it at once.
        services.streams += 1
        try:
            entry = await services.seqs.get(timeline)
        except BaseException:
            services.streams -= 1
            raise
        resume = next((seq for seq in (last_event_id, since) if seq is not None), entry.last_seq)
        return EventStreamResponse(_Stream(services, entry.timeline_id, resume))


class _Watchdog:
    """Expires a stream's `deadline` when one write has taken longer than SEND_TIMEOUT: one timer per
    stream that re-arms itself, checking the write in progress."""

    __slots__ = ("_deadline", "_loop", "_timer", "writing_since")

    def __init__(self, deadline: asyncio.Timeout) -> None:
        self.writing_since: float | None = None
        self._deadline = deadline
        self._loop = asyncio.get_running_loop()
        self._timer = self._loop.call_later(SEND_TIMEOUT, self._check)

    def _check(self) -> None:
        now, since = self._loop.time(), self.writing_since
        if since is not None and now - since >= SEND_TIMEOUT:
            self._deadline.reschedule(now)
        else:
            self._timer = self._loop.call_at((since or now) + SEND_TIMEOUT, self._check)

    def stop(self) -> None:
        self._timer.cancel()


async def _pump(stream: _Stream, send: Send) -> bool:
    """Write the stream until the fan-out ends it, then end the response; True when one write took
    longer than SEND_TIMEOUT instead. One timeout for the whole stream, expired on demand by a watchdog:
    with thousands of streams, a timer per write would cost more than the write itself."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(None) as deadline:
            watchdog = _Watchdog(deadline)
            try:
                await _write(send, watchdog, loop, b"retry: %d\n\n" % RETRY_MS)
                items = stream.services.fanout.stream(stream.timeline_id, stream.since)
                async with contextlib.aclosing(items):
                    async for item in items:  # _write inlined: this runs once per reader per change
                        watchdog.writing_since = loop.time()
                        data = item.data if item is not None else b": ping\n\n"
                        await send({"type": "http.response.body", "body": data, "more_body": True})
                        watchdog.writing_since = None
                await _write(send, watchdog, loop, b"", more=False)
            finally:
                watchdog.stop()
    except TimeoutError:
        return True
    return False


async def _write(
    send: Send, watchdog: _Watchdog, loop: asyncio.AbstractEventLoop, data: bytes, *, more: bool = True
) -> None:
    watchdog.writing_since = loop.time()
    await send({"type": "http.response.body", "body": data, "more_body": more})
    watchdog.writing_since = None
