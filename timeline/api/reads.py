"""The one path every timeline read takes: seq lookup, ETag, 304, cached bytes, render on a miss.

`cached_read` is that path inside a handler. `CacheFront` is its front, an ASGI layer in front of Litestar
that answers a revalidation or a cached page of those handlers (those whose `opt` holds `FRONT`) before
Litestar sees the request: most polls end there, without a query, without Litestar's routing (but for
its cached lookup of the path), middleware, parameters or dependencies, and without building a response
object. Both send stored representations as they are (`Stored`: CORS, `Vary` and the coding the request
accepts already in their headers), so the only work a hit adds to a lookup is choosing that coding. A
handler may also give the front an early renderer for requests whose query is plain enough to read by hand
(a page of events after a cursor): then a miss is rendered there too, which halves its cost. The front
only answers what `cached_read` stored or would answer itself, so both give the same bytes and headers;
anything else (errors included) goes on to the handler.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from litestar import Litestar, Request, Response
from litestar._asgi.utils import is_valid_host
from litestar.enums import ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils import normalize_path

from timeline.api import cors
from timeline.api.caching import CACHE_CONTROL, CacheKey, Rendered, SeqEntry, Stored, etag, matched
from timeline.api.compression import Headers, accepted
from timeline.api.deps import Services
from timeline.api.edge import VARY, send_complete
from timeline.api.problems import problem_responses
from timeline.errors import TimelineError

JSON = "application/json"
NOT_MODIFIED = ResponseSpec(
    None, generate_examples=False, description="Not modified since the ETag in If-None-Match."
)
Render = Callable[[SeqEntry], Awaitable[Rendered]]
# A handler's (or its controller's) `opt[FRONT]`: it ends in `cached_read`, so the front may answer for it.
FRONT = "cache_front"
# A handler's `opt[RENDER_EARLY]`: the render of a request whose query it can read without Litestar (None
# for any other request), so that the cache front renders a miss too. Only for JSON reads.
RENDER_EARLY = "render_early"
EarlyRender = Callable[[Services, Scope], Render | None]
# What every 304 of a timeline read says besides its tag: the 200 it stands for says the same.
_UNCHANGED: Headers = ((b"cache-control", CACHE_CONTROL.encode()), VARY, *cors.READ)
# What a read that a key changes says besides: its public answer must not stand in for a keyed one.
_BY_KEY: Headers = ((b"vary", b"Authorization"),)


def validators(tag: str) -> dict[str, str]:
    """The caching headers of every timeline read, on its 200 and its 304 alike."""
    return {"ETag": tag, "Cache-Control": CACHE_CONTROL}


def conditional(request: Request[Any, Any, Any], tag: str, body: bytes) -> Response[bytes]:
    """`body` as JSON, or 304 when the client's `If-None-Match` already holds `tag` (in any coding)."""
    held = matched(request.headers.get("if-none-match"), tag)
    if held is not None:
        return Response(b"", status_code=304, headers={**validators(held), "Vary": "Accept-Encoding"})
    return Response(body, media_type=JSON, headers=validators(tag))


class CompleteResponse(Response[bytes]):
    """A response whose status, headers and body are final as given (a stored representation): sent as
    they are, past Litestar's response building and the edge's (`send_complete`)."""

    def __init__(self, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(b"", status_code=status)
        self._complete = _Complete(status, headers, body)

    def to_asgi_response(self, app: Any, request: Any, **_: Any) -> ASGIResponse:
        return self._complete


class _Complete(ASGIResponse):
    def __init__(self, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> None:
        self._status, self._headers, self._body = status, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_complete(scope, send, self._status, self._headers, self._body)


def not_modified(tag: str, extra: Headers = ()) -> list[tuple[bytes, bytes]]:
    """The headers of a 304 naming `tag`: the representation the client holds."""
    return [(b"etag", tag.encode("latin-1")), *_UNCHANGED, *extra]


def _key(entry: SeqEntry, scope: Scope, host: str | None) -> CacheKey:
    """What a read's bytes depend on besides the seq. The origin the request was addressed to is part of
    it: feeds and the embed page name their own absolute URLs."""
    origin = f"{scope['scheme']}://{host or scope.get('server')}{scope.get('root_path', '')}"
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
    """Answer a read of `timeline` (id or slug): 304 when the client is current, else cached or fresh bytes
    in the coding the request accepts.

    Only a stale seq entry (older than a second) costs a query; a 304 with a fresh one costs none.
    `headers` go on the 200 and the 304 alike.
    """
    entry = await services.seqs.get(timeline)
    key = _key(entry, request.scope, request.headers.get("host"))
    tag = etag(entry, key)
    extra = _encoded(headers or {})
    held = matched(request.headers.get("if-none-match"), tag)
    if held is not None:
        services.metrics.http.not_modified()
        return CompleteResponse(304, not_modified(held, extra), b"")
    stored = services.pages.get(key, entry.last_seq)
    if stored is None:
        stored = _stored(await render(entry), media_type, tag, extra)
        services.pages.put(key, stored)
    chosen = stored.representation(accepted(request.headers.get("accept-encoding")))
    return CompleteResponse(200, chosen.headers, chosen.body)


def _encoded(headers: Mapping[str, str] | Sequence[tuple[str, str]]) -> Headers:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs)


def _stored(rendered: Rendered, media_type: str, tag: str, extra: Headers = ()) -> Stored:
    # As Litestar names text types, so that a page is the same from the front and the handler.
    content_type = f"{media_type}; charset=utf-8" if media_type.startswith("text/") else media_type
    headers = (
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(rendered.body)).encode()),
        (b"etag", tag.encode("latin-1")),
        (b"cache-control", CACHE_CONTROL.encode()),
        VARY,
        *cors.READ,
        *_encoded(rendered.headers),
        *extra,
    )
    return Stored(rendered.last_seq, rendered.body, headers)


class CacheFront:
    """ASGI layer in front of Litestar: answers a public GET of a `FRONT` handler from memory when it can,
    and renders it here when the handler names an early renderer (`RENDER_EARLY`) that accepts the
    request; anything else goes on to Litestar as it came."""

    __slots__ = ("_app", "_litestar", "_routes")

    def __init__(self, app: ASGIApp, litestar: Litestar) -> None:
        self._app = app
        self._litestar = litestar
        # By (root path, path): polled URLs come round again and again, and finding a route is not free.
        self._routes = functools.lru_cache(maxsize=4096)(self._find)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] == "GET" and await self._answer(scope, send):
            return
        await self._app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send) -> bool:
        headers = _read_headers(scope)
        if headers is None:
            return False
        route = self._routes(scope.get("root_path", ""), scope["path"])
        if route is None:
            return False
        handler, params, template = route
        services: Services = self._litestar.state.services
        entry = services.seqs.fresh(params["timeline"])
        if entry is None:
            return False
        scope["path_template"] = template  # as Litestar's router would set it: metrics count by it
        return await _answer(services, entry, scope, send, handler, headers)

    def _find(self, root_path: str, path: str) -> tuple[BaseRouteHandler, dict[str, Any], str] | None:
        """The handler of a `FRONT` route `path` names, as Litestar's router finds it (same normalisation),
        its path parameters and template; None for any other."""
        if root_path:
            path = path.split(root_path, maxsplit=1)[-1]
        try:
            _, handler, _, params, template = self._litestar.asgi_router.handle_routing(
                normalize_path(path), "GET"
            )
        except Exception:  # not found, not allowed: Litestar answers it as the problem it is
            return None
        return (handler, params, template) if handler.opt.get(FRONT) else None


async def _answer(
    services: Services,
    entry: SeqEntry,
    scope: Scope,
    send: Send,
    handler: BaseRouteHandler,
    headers: tuple[str | None, str | None, str | None],
) -> bool:
    """Answer from memory or the early renderer; False when the handler must (it also answers errors)."""
    host, if_none_match, accept_encoding = headers
    key = _key(entry, scope, host)
    tag = etag(entry, key)
    held = matched(if_none_match, tag)
    if held is not None:
        services.metrics.http.not_modified()
        await send_complete(scope, send, 304, not_modified(held, _varies_by_key(handler)), b"")
        return True
    stored = services.pages.get(key, entry.last_seq)
    if stored is None:
        early: EarlyRender | None = handler.opt.get(RENDER_EARLY)
        render = early(services, scope) if early else None
        if render is None:
            return False
        try:
            stored = _stored(await render(entry), JSON, tag)
        except TimelineError:
            return False  # not found, a bad cursor, storage: the handler answers it as a problem
        services.pages.put(key, stored)
    chosen = stored.representation(accepted(accept_encoding))
    await send_complete(scope, send, 200, chosen.headers, chosen.body)
    return True


def _varies_by_key(handler: BaseRouteHandler) -> Headers:
    """`Vary: Authorization` for a read that answers a key otherwise than the public (its OpenAPI security
    offers a scheme): its handler puts it on its 200s and 304s, so the 304s made here carry it too."""
    security = getattr(handler, "security", None) or ()
    return _BY_KEY if any(requirement for requirement in security) else ()


def _read_headers(scope: Scope) -> tuple[str | None, str | None, str | None] | None:
    """`Host`, `If-None-Match` and `Accept-Encoding`, in one pass over the request's headers; None for a
    request the front leaves to Litestar: one with credentials (its handler may answer a key otherwise
    than the public), or with a `Host` Litestar refuses."""
    host = if_none_match = accept_encoding = None
    for key, value in scope["headers"]:
        if key == b"host":
            if not is_valid_host(value):
                return None
            host = bytes(value).decode("latin-1")
        elif key == b"if-none-match":
            if_none_match = bytes(value).decode("latin-1")
        elif key == b"accept-encoding":
            accept_encoding = bytes(value).decode("latin-1")
        elif key == b"authorization":
            return None
    return host, if_none_match, accept_encoding


def read_responses(data: Any, description: str, *, media_type: str = JSON) -> dict[int, ResponseSpec]:
    """OpenAPI responses of a cached read: the body's shape, and 304."""
    ok = ResponseSpec(data, generate_examples=False, description=description, media_type=media_type)
    return {200: ok, 304: NOT_MODIFIED, **problem_responses(400, 404, 503)}
