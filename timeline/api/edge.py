"""The layer every request and response passes, in front of Litestar's router: HEAD, OPTIONS and `Allow`,
CORS for reads and preflights, content codings of bodies made per request, and the count of requests by
route and status.

- HEAD is routed as GET and answered with the GET's status and headers (`Content-Length` included) and
  no body, so every GET route answers HEAD alike, the cache front and 304s included; a stream ends at
  its head.
- OPTIONS and 405 name every method of the path: Litestar's own answer names one handler group's.
- Responses that carry a stored representation (the cache front's pages, static files) arrive complete
  (`send_complete`) and pass as they are: on the hot path this layer costs one lookup.
- Any other body of a compressible type is compressed here when the request accepts it (`Vary:
  Accept-Encoding` either way); a streamed body (SSE) never is.
- While the app has no WebSocket route, a WebSocket handshake is refused with a problem (400), where the
  server can send one (the ASGI `websocket.http.response` extension), rather than a bare close.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast

from litestar.enums import ScopeType
from litestar.routes import BaseRoute, HTTPRoute, WebSocketRoute
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Message,
    Receive,
    Scope,
    Send,
)

from timeline.api import cors
from timeline.api.compression import accepted, compress, compressible, recode
from timeline.api.problems import MEDIA_TYPE, problem_body

# `scope["state"][COMPLETE]`: this response's head is final as sent (see `send_complete`).
COMPLETE = "timeline.complete"
# `scope["state"][HEAD]`: the request is a HEAD, routed as GET.
HEAD = "timeline.head"
# Counts a request: method, route template ("unmatched" without one), status, seconds taken.
CountRequest = Callable[[str, str, int, float], None]
VARY = (b"vary", b"Accept-Encoding")
READS = frozenset(("GET", "HEAD"))
_NO_BODY = frozenset((204, 304))
_END: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}


def allowed_methods(routes: Iterable[BaseRoute]) -> dict[str, bytes]:
    """`Allow` by route template (`scope["path_template"]`), every handler group of a path together."""
    methods: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, HTTPRoute):
            methods.setdefault(route.path_format, set()).update(route.methods)
    return {path: _allow(found) for path, found in methods.items()}


def has_websockets(routes: Iterable[BaseRoute]) -> bool:
    return any(isinstance(route, WebSocketRoute) for route in routes)


def _allow(methods: Iterable[str]) -> bytes:
    found = {method.strip().upper() for method in methods if method.strip()} | {"OPTIONS"}
    if "GET" in found:
        found.add("HEAD")
    return ", ".join(sorted(found)).encode()


async def send_complete(
    scope: Scope, send: Send, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes
) -> None:
    """Send a response whose headers are final (CORS, `Vary`, its coding): the edge passes it as it is."""
    scope["state"][COMPLETE] = True
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class Edge:
    """ASGI middleware around the whole Litestar app (its `asgi_handler`); `allowed` from
    `allowed_methods(app.routes)`. Every HTTP request but a preflight is told to `count` once answered,
    by its route template (not raw path: bounded labels)."""

    __slots__ = ("_allowed", "_app", "_count", "_websockets")

    def __init__(
        self, app: ASGIApp, allowed: Mapping[str, bytes], count: CountRequest, *, websockets: bool = False
    ) -> None:
        self._app = app
        self._allowed = allowed
        self._count = count
        self._websockets = websockets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.WEBSOCKET and not self._websockets:
            await _refuse_websocket(scope, receive, send)
            return
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS" and (asked := _preflight(scope)) is not None:
            await _answer_preflight(send, asked)
            return
        started = time.perf_counter()
        if method == "HEAD":
            # Routed as GET. A copy: the server keeps its own scope saying HEAD, and sends no body.
            scope = cast(HTTPScope, {**scope, "method": "GET"})
            scope["state"][HEAD] = True
        reply = _Reply(send, scope, method, self._allowed)
        try:
            await self._app(scope, receive, reply)
        finally:
            route = scope.get("path_template") or "unmatched"
            self._count(method, route, reply.status, time.perf_counter() - started)


def _preflight(scope: Scope) -> str | None:
    """The method a CORS preflight asks for; None when this OPTIONS is not one."""
    origin = asked = None
    for key, value in scope["headers"]:
        if key == b"origin":
            origin = value
        elif key == b"access-control-request-method":
            asked = bytes(value).decode("latin-1").strip()
    return asked if origin is not None and asked is not None else None


async def _answer_preflight(send: Send, method: str) -> None:
    if cors.opens(method):
        await _send(send, 204, cors.PREFLIGHT, b"")
        return
    detail = (
        f"Pages of other origins may only read (GET, HEAD), not {method}: writes need an API key, which "
        "belongs on a server, not in a browser."
    )
    body = problem_body(
        403, "cors.refused", "Cross-origin method refused", detail, parameter="Access-Control-Request-Method"
    )
    headers = ((b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()))
    await _send(send, 403, headers, body)


async def _refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1008, "reason": "no WebSocket endpoint"})
        return
    detail = (
        "This service has no WebSocket endpoints: live updates are Server-Sent Events, read with a plain "
        "GET of /api/v1/timelines/{id}/stream."
    )
    body = problem_body(400, "websocket_unsupported", "WebSocket not supported", detail)
    headers = ((b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()))
    await send({"type": "websocket.http.response.start", "status": 400, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body, "more_body": False})


async def _send(send: Send, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class _Reply:
    """The `send` of one response: completes its head, compresses its body, drops the body of a HEAD."""

    __slots__ = ("_allowed", "_held", "_method", "_passing", "_scope", "_send", "status")

    def __init__(self, send: Send, scope: Scope, method: str, allowed: Mapping[str, bytes]) -> None:
        self._send = send
        self._scope = scope
        self._method = method
        self._allowed = allowed
        self._held: HTTPResponseStartEvent | None = None  # a head waiting for its body to be compressed
        self._passing = False  # the head is out: what follows goes as it comes (for a HEAD: nowhere)
        self.status = 500  # until a response starts: what a crash answers

    async def __call__(self, message: Message) -> None:
        if self._passing:
            if self._method != "HEAD":
                await self._send(message)
        elif message["type"] == "http.response.start":
            await self._start(message)
        elif message["type"] == "http.response.body" and self._held is not None:
            await self._body(message)
        else:
            await self._send(message)

    async def _start(self, message: HTTPResponseStartEvent) -> None:
        self.status = message["status"]
        if self._scope["state"].get(COMPLETE):
            await self._pass(message)
            return
        status = message["status"]
        headers = list(message.get("headers", ()))  # a copy: the app's list is never edited
        if status == 405 or self._method == "OPTIONS":
            headers = self._allow(status, headers)
        if self._method in READS:
            headers += cors.READ
        start: HTTPResponseStartEvent = {**message, "headers": headers}
        if _compressible(status, headers):
            self._held = start
        else:
            await self._pass(start)

    async def _pass(self, start: HTTPResponseStartEvent) -> None:
        self._passing = True
        await self._send(start)
        if self._method == "HEAD":
            await self._send(_END)

    async def _body(self, message: HTTPResponseBodyEvent) -> None:
        held = cast(HTTPResponseStartEvent, self._held)
        if message.get("more_body", False):  # streamed: it goes out as it comes
            await self._pass(held)
            await self(message)
            return
        body = message.get("body", b"")
        headers: Sequence[tuple[bytes, bytes]] = [*held["headers"], VARY]
        coding = accepted(header(self._scope, b"accept-encoding")).choose(len(body))
        if coding is not None:
            body = compress(body, coding)
            headers = recode(headers, coding, len(body))
        self._passing = True
        await self._send({**held, "headers": headers})
        await self._send(_END if self._method == "HEAD" else {**message, "body": body})

    def _allow(self, status: int, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """`Allow` naming every method of the path, on OPTIONS and 405 alike."""
        if status == 405:
            given = b",".join(value for name, value in headers if name == b"allow").decode("latin-1")
            allow: bytes | None = _allow(given.split(","))
        else:
            allow = self._allowed.get(str(self._scope.get("path_template", "")))
        if allow is None:
            return headers
        return [(name, value) for name, value in headers if name != b"allow"] + [(b"allow", allow)]


def _compressible(status: int, headers: Sequence[tuple[bytes, bytes]]) -> bool:
    if status < 200 or status in _NO_BODY:
        return False
    media_type = b""
    for name, value in headers:
        if name == b"content-encoding":
            return False
        if name == b"content-type":
            media_type = value
    return compressible(media_type)
