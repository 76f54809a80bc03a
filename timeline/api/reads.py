"""The one path every timeline read takes: seq lookup, ETag, 304, cached bytes, render on a miss.

`cached_read` is that path inside a handler. `answer_from_cache` is its front, a middleware on the same
handlers that answers a revalidation or a cached page before Litestar parses parameters or injects
dependencies: most polls end there, without a query and without building a response object. A handler
may also give the front an early renderer for requests whose query is plain enough to read by hand (a
page of events after a cursor): then a miss is rendered there too, which halves its cost. The front only
answers what `cached_read` stored or would answer itself, so both give the same bytes and headers;
anything else (errors included) goes on to the handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.openapi import ResponseSpec
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

from timeline.api.caching import CACHE_CONTROL, CacheKey, Rendered, SeqEntry, Stored, etag, matches
from timeline.api.deps import Services
from timeline.api.problems import problem_responses
from timeline.errors import TimelineError

JSON = "application/json"
NOT_MODIFIED = ResponseSpec(
    None, generate_examples=False, description="Not modified since the ETag in If-None-Match."
)
Render = Callable[[SeqEntry], Awaitable[Rendered]]
# A handler's `opt[RENDER_EARLY]`: the render of a request whose query it can read without Litestar (None
# for any other request), so that the cache front renders a miss too. Only for JSON reads.
RENDER_EARLY = "render_early"
EarlyRender = Callable[[Services, Scope], Render | None]


def validators(tag: str) -> dict[str, str]:
    """The caching headers of every timeline read, on its 200 and its 304 alike."""
    return {"ETag": tag, "Cache-Control": CACHE_CONTROL}


def conditional(request: Request[Any, Any, Any], tag: str, body: bytes) -> Response[bytes]:
    """`body` as JSON, or 304 when the client's `If-None-Match` already holds `tag`."""
    if matches(request.headers.get("if-none-match"), tag):
        return Response(b"", status_code=304, headers=validators(tag))
    return Response(body, media_type=JSON, headers=validators(tag))


def _key(entry: SeqEntry, scope: Scope) -> CacheKey:
    """What a read's bytes depend on besides the seq. The origin the request was addressed to is part of
    it: feeds and the embed page name their own absolute URLs."""
    host = _header(scope, b"host") or str(scope.get("server"))
    origin = f"{scope['scheme']}://{host}{scope.get('root_path', '')}"
    return entry.timeline_id, scope["path_template"], f"{origin}?{scope['query_string'].decode('latin-1')}"


async def cached_read(
    request: Request[Any, Any, Any],
    services: Services,
    timeline: str,
    render: Render,
    *,
    media_type: str = JSON,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    """Answer a read of `timeline` (id or slug): 304 when the client is current, else cached or fresh bytes.

    Only a stale seq entry (older than a second) costs a query; a 304 with a fresh one costs none.
    `headers` go on the 200 and the 304 alike.
    """
    entry = await services.seqs.get(timeline)
    key = _key(entry, request.scope)
    tag = etag(entry, key)
    extra = headers or {}
    if matches(request.headers.get("if-none-match"), tag):
        services.metrics.not_modified.inc()
        return Response(b"", status_code=304, headers={**validators(tag), **extra})
    stored = services.pages.get(key, entry.last_seq)
    if stored is None:
        rendered = await render(entry)
        stored = _stored(rendered, media_type, tag)
        services.pages.put(key, stored)
    return Response(stored.body, media_type=media_type, headers={**_own_headers(stored), **extra})


def _own_headers(stored: Stored) -> dict[str, str]:
    """The stored headers that Litestar's `Response` does not add itself."""
    framing = (b"content-type", b"content-length")
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in stored.headers if k not in framing}


def _stored(rendered: Rendered, media_type: str, tag: str) -> Stored:
    headers = [
        ("content-type", media_type),
        ("content-length", str(len(rendered.body))),
        ("etag", tag),
        ("cache-control", CACHE_CONTROL),
        *((name.lower(), value) for name, value in rendered.headers),
    ]
    encoded = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return Stored(rendered.last_seq, rendered.body, encoded)


def answer_from_cache(app: ASGIApp) -> ASGIApp:
    """Middleware for handlers that end in `cached_read`: answer a GET from memory when it can, and render
    it here when the handler names an early renderer (`RENDER_EARLY`) that accepts the request."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] == "GET":
            services: Services = scope["app"].state.services
            entry = services.seqs.fresh(scope["path_params"]["timeline"])
            if entry is not None and await _answer(services, entry, scope, send):
                return
        await app(scope, receive, send)

    return middleware


async def _answer(services: Services, entry: SeqEntry, scope: Scope, send: Send) -> bool:
    """Answer from memory or the early renderer; False when the handler must (it also answers errors)."""
    key = _key(entry, scope)
    tag = etag(entry, key)
    if matches(_header(scope, b"if-none-match"), tag):
        services.metrics.not_modified.inc()
        encoded = [(b"etag", tag.encode()), (b"cache-control", CACHE_CONTROL.encode())]
        await _send(send, 304, encoded, b"")
        return True
    stored = services.pages.get(key, entry.last_seq)
    if stored is None:
        early: EarlyRender | None = scope["route_handler"].opt.get(RENDER_EARLY)
        render = early(services, scope) if early else None
        if render is None:
            return False
        try:
            stored = _stored(await render(entry), JSON, tag)
        except TimelineError:
            return False  # not found, a bad cursor, storage: the handler answers it as a problem
        services.pages.put(key, stored)
    await _send(send, 200, stored.headers, stored.body)
    return True


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send(HTTPResponseBodyEvent(type="http.response.body", body=body, more_body=False))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def read_responses(data: Any, description: str, *, media_type: str = JSON) -> dict[int, ResponseSpec]:
    """OpenAPI responses of a cached read: the body's shape, and 304."""
    ok = ResponseSpec(data, generate_examples=False, description=description, media_type=media_type)
    return {200: ok, 304: NOT_MODIFIED, **problem_responses(400, 404, 503)}
