"""`GET /api/v1/timelines/{id}/stream`: Server-Sent Events of every change, resumable by seq.

The handler validates like any other, then hands the connection to plain ASGI code rather than a
Litestar `Stream`: that code must time out a send a reader never drains (so one slow reader cannot pin
memory) and notice a disconnect while idle, which a response body iterator cannot do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
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

PING_EVERY = 15.0
SEND_TIMEOUT = 30.0  # a reader that takes longer to accept one write is dropped; it resumes by seq
RETRY_MS = 3000
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: do not buffer the stream
]


class _EventStream(ASGIResponse):
    def __init__(self, serve: Callable[[Receive, Send], Awaitable[None]]) -> None:
        self._serve = serve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve(receive, send)


class EventStreamResponse(Response[bytes]):
    """A response that hands the connection to `serve(receive, send)`."""

    def __init__(self, serve: Callable[[Receive, Send], Awaitable[None]]) -> None:
        super().__init__(b"", media_type="text/event-stream")
        self._serve = serve

    def to_asgi_response(self, app: Any, request: Any, **_: Any) -> ASGIResponse:
        return _EventStream(self._serve)


class StreamController(Controller):
    path = "/api/v1/timelines/{timeline:str}"
    tags = ["live"]  # noqa: RUF012 (Litestar reads it as a class attribute)

    @get(
        "/stream",
        summary="Server-Sent Events: every change, live, resumable by seq",
        description="`text/event-stream`: each change is one event with `id: <seq>`, `event: upsert|delete` "
        "and `data:` the event as `/events` shows it. Resume with `Last-Event-ID` or `?since=SEQ`; without "
        "either, only changes from now on. A comment every 15 s keeps proxies from closing the stream.",
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
        entry = await services.seqs.get(timeline)
        resume = next((seq for seq in (last_event_id, since) if seq is not None), entry.last_seq)
        return EventStreamResponse(functools.partial(_counted, services, entry.timeline_id, resume))


async def _counted(services: Services, timeline_id: str, since: int, receive: Receive, send: Send) -> None:
    services.streams += 1
    services.metrics.sse_clients.inc()
    try:
        await _serve(services, timeline_id, since, receive, send)
    finally:
        services.streams -= 1
        services.metrics.sse_clients.dec()


async def _serve(services: Services, timeline_id: str, since: int, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    pump = asyncio.create_task(_pump(services, timeline_id, since, send))
    gone = asyncio.create_task(_disconnected(receive))
    try:
        await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pump, gone):
            task.cancel()
        await asyncio.gather(pump, gone, return_exceptions=True)
    if not gone.done() or gone.cancelled():
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _pump(services: Services, timeline_id: str, since: int, send: Send) -> None:
    await _write(send, b"retry: %d\n\n" % RETRY_MS)
    try:
        async for item in services.fanout.stream(timeline_id, since, idle=PING_EVERY):
            await _write(send, item.data if item is not None else b": ping\n\n")
    except TimeoutError:
        log.info("dropped a slow SSE reader of %s; it can resume by seq", timeline_id)


async def _write(send: Send, data: bytes) -> None:
    async with asyncio.timeout(SEND_TIMEOUT):
        await send({"type": "http.response.body", "body": data, "more_body": True})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
