"""What the API tests share: the key, a live blog we edit between polls, and problem+json checks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from httpx import Response
from litestar import Litestar

from tests.upstream import Request, Route, respond
from timeline.api import create_app
from timeline.api.app import PollingFactory
from timeline.settings import Settings
from timeline.web import web_routes
from timeline.wiring import polling as polling_of

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
PROBLEM = "application/problem+json"
PROBLEM_BASE = "https://liveblog-timeline.dev/problems/"
GUARDIAN = "guardian_capi_liveblog_clockwatch_2023-12-23_first12blocks.json"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def asgi_client(app: Litestar) -> httpx.AsyncClient:
    """HTTP to `app` in this event loop (start its lifespan with `running`)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar's ASGI types are narrower
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def environment(database: Path, **extra: str) -> dict[str, str]:
    """A `timeline` process environment: ours less any TIMELINE_*, plus this database and `extra`."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith("TIMELINE_")}
    return {**kept, "TIMELINE_DATABASE_URL": f"sqlite+aiosqlite:///{database}", **extra}


def build_app(settings: Settings, polling: PollingFactory | None = None) -> Litestar:
    """The app as `timeline api` builds it (the CLI's own poll pipeline), migrating a new database."""
    return create_app(settings, polling=polling or polling_of(settings), migrate=True, pages=web_routes())


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """The app's lifespan (store, fetcher) open in a task of its own.

    Litestar enters an anyio task group there, which must be left by the task that entered it; a
    pytest-asyncio fixture may tear down in another task than it set up.
    """
    started, stop = asyncio.Event(), asyncio.Event()

    async def live() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(live())
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiting.cancel()
        await task  # startup failed: raise its error
    try:
        yield
    finally:
        stop.set()
        await task


@dataclass(frozen=True)
class Block:
    id: str
    text: str
    at: datetime
    key_event: bool = False
    pinned: bool = False


class LiveBlog:
    """A Guardian Content API item we write, post to, edit and delete from between polls.

    Every snapshot lists all body blocks (`totalBodyBlocks` equals their number), so the adapter calls it
    complete and a deleted block becomes a tombstone on the next poll.
    """

    def __init__(self) -> None:
        self.blocks: dict[str, Block] = {}

    def post(
        self, block_id: str, text: str, *, minute: int, key_event: bool = False, pinned: bool = False
    ) -> None:
        at = T0 + timedelta(minutes=minute)
        self.blocks[block_id] = Block(block_id, text, at, key_event, pinned)

    def edit(self, block_id: str, text: str) -> None:
        self.blocks[block_id] = replace(self.blocks[block_id], text=text)

    def delete(self, block_id: str) -> None:
        del self.blocks[block_id]

    def render(self) -> bytes:
        newest_first = sorted(self.blocks.values(), key=lambda b: b.at, reverse=True)
        content = {
            "id": "world/live/2024/may/01/election-live",
            "type": "liveblog",
            "webTitle": "Election night – live",
            "webUrl": "https://news.example/world/live/2024/may/01/election-live",
            "fields": {"liveBloggingNow": True},
            "blocks": {"body": [_block(b) for b in newest_first], "totalBodyBlocks": len(newest_first)},
        }
        return orjson.dumps({"response": {"status": "ok", "content": content}})

    def route(self) -> Route:
        """An upstream route serving the blog as it is when each request arrives."""

        async def serve(request: Request, writer: asyncio.StreamWriter) -> None:
            await respond("200 OK", {"Content-Type": "application/json"}, self.render())(request, writer)

        return serve


def _block(block: Block) -> dict[str, Any]:
    stamp = block.at.isoformat().replace("+00:00", "Z")
    return {
        "id": block.id,
        "bodyHtml": f"<p>{block.text}</p>",
        "attributes": {"keyEvent": block.key_event, "pinned": block.pinned},
        "firstPublishedDate": stamp,
        "lastModifiedDate": stamp,
    }


def assert_problem(
    response: Response, status: int, kind: str, parameter: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem of this status and kind, naming `parameter`; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM_BASE + kind
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text
    if parameter is not None:
        assert body.get("parameter") == parameter, body
    return body
