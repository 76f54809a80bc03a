"""A real HTTP/1.1 upstream on a loopback address for tests: scripted raw responses per path.

Routes write raw responses: `respond`, `redirect`, `snapshot` (a body with an ETag, 304 to a matching
If-None-Match) and faults (`hang`, `drip`, `reset`, `delayed`). `script` plays a sequence of routes on one
path: each request takes the next, the last repeats. Every request is recorded as an `Exchange` with its
start and end time and the status answered, so tests can count requests and check how many ran at once on
one path or host (`Upstream.max_overlap`).

`GuardianBlog` and `WordPressBlog` are live blogs written in code, to post to, edit and delete from between
polls; `snapshot(blog.render)` serves each as it is when a request arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import orjson


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # names lower-cased
    reader: asyncio.StreamReader | None = field(default=None, compare=False, repr=False)

    async def client_gone(self) -> None:
        """Return once the client has closed its side of the connection."""
        if self.reader is not None:
            with contextlib.suppress(ConnectionError):
                while await self.reader.read(4096):
                    pass


@dataclass
class Exchange:
    """One request as the upstream saw it; times are `time.monotonic()`, `ended` None while it runs."""

    request: Request
    started: float
    ended: float | None = None
    status: int | None = None  # of the response head written, None when none was (hang, reset)


Route = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]

_exchange: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar("exchange", default=None)


class Upstream:
    """A tiny HTTP/1.1 server: each route writes a raw response, then the connection closes."""

    def __init__(self, host: str = "127.0.0.1", routes: dict[str, Route] | None = None) -> None:
        self.host = host
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Request] = []
        self.exchanges: list[Exchange] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Upstream:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port: int = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    @property
    def netloc(self) -> str:
        """`host:port`, the host as the poller's per-host limits see it."""
        return f"{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.netloc}{path}"

    def served(self, path: str | None = None) -> list[Exchange]:
        """The exchanges on `path` (every path when None), in arrival order."""
        return [e for e in self.exchanges if path is None or e.request.path == path]

    def statuses(self, path: str) -> list[int | None]:
        return [e.status for e in self.served(path)]

    def max_overlap(self, path: str | None = None) -> int:
        """The most requests on `path` (on this host when None) that were in flight at one moment."""
        return max_overlap(self.served(path))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        exchange: Exchange | None = None
        try:
            request = _parse(await reader.readuntil(b"\r\n\r\n"), reader)
            exchange = Exchange(request, time.monotonic())
            _exchange.set(exchange)
            self.requests.append(request)
            self.exchanges.append(exchange)
            await self.routes.get(request.path, _not_found)(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up, as the fetcher does when it stops reading
        finally:
            if exchange is not None:
                # Before closing: the client cannot have the whole answer earlier, so requests one after
                # the other never look overlapping.
                exchange.ended = time.monotonic()
            writer.close()
            await closed(writer)
            self._tasks.discard(task)


def max_overlap(exchanges: Iterable[Exchange]) -> int:
    """The largest number of `exchanges` in flight at once (one ending as another starts: not both)."""
    edges = sorted(
        edge
        for e in exchanges
        for edge in ((e.started, 1), (e.ended if e.ended is not None else float("inf"), -1))
    )
    running = most = 0
    for _, step in edges:  # at equal times the end (-1) sorts first
        running += step
        most = max(most, running)
    return most


async def closed(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


def _parse(head: bytes, reader: asyncio.StreamReader | None = None) -> Request:
    request_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines if line)
    return Request(request_line.split()[1], {name.lower(): value for name, value in headers.items()}, reader)


def head(status: str, headers: dict[str, str]) -> bytes:
    """A response head; the status is recorded on the exchange being served."""
    exchange = _exchange.get()
    if exchange is not None:
        exchange.status = int(status.split()[0])
    lines = [f"HTTP/1.1 {status}", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(status: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Route:
    async def route(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(head(status, {**(headers or {}), "Content-Length": str(len(body))}) + body)
        await writer.drain()

    return route


def redirect(status: str, location: str) -> Route:
    return respond(status, {"Location": location})


async def _not_found(request: Request, writer: asyncio.StreamWriter) -> None:
    await respond("404 Not Found", body=b"no such page")(request, writer)


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Script:
    """Routes played in order on one path: request n gets route n, the last repeats for ever."""

    def __init__(self, *routes: Route) -> None:
        if not routes:
            raise ValueError("a script needs at least one route")
        self.routes = list(routes)
        self.played = 0

    async def __call__(self, request: Request, writer: asyncio.StreamWriter) -> None:
        route = self.routes[min(self.played, len(self.routes) - 1)]
        self.played += 1
        await route(request, writer)


def script(*routes: Route) -> Script:
    return Script(*routes)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'


def snapshot(
    body: bytes | Callable[[], bytes],
    content_type: str = "application/json",
    *,
    etag: bool = True,
    last_modified: str | None = None,
) -> Route:
    """`body` (or what the callable renders per request) with validators; 304 when the client's match.

    With `etag`, the ETag is a hash of the body, so the answer is 304 exactly when the bytes are unchanged.
    """

    async def route(request: Request, writer: asyncio.StreamWriter) -> None:
        data = body() if callable(body) else body
        validators = {"ETag": etag_of(data)} if etag else {}
        if last_modified is not None:
            validators["Last-Modified"] = last_modified
        if _fresh(request, validators):
            await respond("304 Not Modified", validators)(request, writer)
        else:
            await respond("200 OK", {"Content-Type": content_type, **validators}, data)(request, writer)

    return route


def _fresh(request: Request, validators: dict[str, str]) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when sent; otherwise If-Modified-Since (compared exactly)."""
    sent_tag = request.headers.get("if-none-match")
    if sent_tag is not None:
        return "ETag" in validators and validators["ETag"] in {t.strip() for t in sent_tag.split(",")}
    sent_date = request.headers.get("if-modified-since")
    return sent_date is not None and sent_date == validators.get("Last-Modified")


def delayed(route: Route, seconds: float) -> Route:
    """`route`, after a pause: keeps requests in flight long enough for overlaps to show."""

    async def slow(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(seconds)
        await route(request, writer)

    return slow


def hang() -> Route:
    """Answer nothing until the client gives up and closes the connection."""

    async def route(request: Request, writer: asyncio.StreamWriter) -> None:
        await request.client_gone()

    return route


def drip(body: bytes, content_type: str = "application/json", *, every: float = 0.2) -> Route:
    """A 200 whose head comes at once and whose body comes one byte every `every` seconds."""

    async def route(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(head("200 OK", {"Content-Type": content_type, "Content-Length": str(len(body))}))
        for byte in body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(every)

    return route


def reset() -> Route:
    """Drop the connection with a TCP RST instead of an answer."""

    async def route(request: Request, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    return route


T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _stamp(minute: int) -> str:
    return (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")


class GuardianBlog:
    """A Guardian Content API item (`show-blocks=all`) whose body lists every block.

    `totalBodyBlocks` equals the blocks listed, so each snapshot is complete: a deleted block is gone from
    the next one, and the store tombstones it.
    """

    def __init__(self, title: str = "Election night – live") -> None:
        self.title = title
        self.blocks: dict[str, tuple[str, int]] = {}  # id → (text, minute)
        self.live = True

    def post(self, block_id: str, text: str, *, minute: int) -> None:
        self.blocks[block_id] = (text, minute)

    def edit(self, block_id: str, text: str) -> None:
        self.blocks[block_id] = (text, self.blocks[block_id][1])

    def delete(self, block_id: str) -> None:
        del self.blocks[block_id]

    def texts(self) -> dict[str, str]:
        """What the blog shows now: block id → text."""
        return {block_id: text for block_id, (text, _) in self.blocks.items()}

    def render(self) -> bytes:
        newest_first = sorted(self.blocks.items(), key=lambda item: item[1][1], reverse=True)
        content = {
            "id": "world/live/2024/may/01/election-live",
            "type": "liveblog",
            "webTitle": self.title,
            "webUrl": "https://news.example/world/live/2024/may/01/election-live",
            "fields": {"liveBloggingNow": self.live},
            "blocks": {
                "body": [
                    _guardian_block(block_id, text, minute) for block_id, (text, minute) in newest_first
                ],
                "totalBodyBlocks": len(newest_first),
            },
        }
        return orjson.dumps({"response": {"status": "ok", "content": content}})


def _guardian_block(block_id: str, text: str, minute: int) -> dict[str, Any]:
    stamp = _stamp(minute)
    return {
        "id": block_id,
        "bodyHtml": f"<p>{text}</p>",
        "firstPublishedDate": stamp,
        "lastModifiedDate": stamp,
    }


class WordPressBlog:
    """The WordPress liveblog plugin's polling response: the latest `window` entries changed, each as
    `new`, `update` or `delete`. Entries that scroll out of the window are not deleted (incremental)."""

    def __init__(self, window: int = 3) -> None:
        self.window = window
        self.entries: dict[str, dict[str, Any]] = {}  # by entry id (digits), most recently changed last
        self.shown: dict[str, str] = {}  # what the blog shows now: entry id → text

    def post(self, entry_id: str, text: str, *, minute: int) -> None:
        self._change(entry_id, "new", text, minute)

    def edit(self, entry_id: str, text: str) -> None:
        self._change(entry_id, "update", text, self.entries[entry_id]["minute"])

    def delete(self, entry_id: str) -> None:
        self._change(entry_id, "delete", "", self.entries[entry_id]["minute"])

    def texts(self) -> dict[str, str]:
        """What the blog shows now: entry id → text."""
        return dict(self.shown)

    def _change(self, entry_id: str, kind: str, text: str, minute: int) -> None:
        self.entries.pop(entry_id, None)
        self.entries[entry_id] = {"type": kind, "text": text, "minute": minute}
        if kind == "delete":
            self.shown.pop(entry_id, None)
        else:
            self.shown[entry_id] = text

    def render(self) -> bytes:
        latest = list(self.entries.items())[-self.window :]
        entries = [_wordpress_entry(entry_id, entry) for entry_id, entry in latest]
        return orjson.dumps({"entries": entries, "refresh_interval": 10, "pages": 1})


def _wordpress_entry(entry_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    seconds = int((T0 + timedelta(minutes=entry["minute"])).timestamp())
    html = f"<p>{entry['text']}</p>" if entry["type"] != "delete" else ""
    return {
        "id": entry_id,
        "type": entry["type"],
        "render": html,
        "content": html,
        "entry_time": seconds,
    }
