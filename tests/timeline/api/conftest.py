"""The app as the CLI builds it, over a real SQLite file, with a real local upstream to follow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.timeline.api.support import AUTH, KEY, LiveBlog, asgi_client, build_app, running
from tests.upstream import Upstream
from timeline.settings import Settings

Client = httpx.AsyncClient


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}",
        api_keys=KEY,
        allow_private_sources=True,
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return build_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[Client]:
    """HTTP to the app in the test's own event loop.

    Not Litestar's AsyncTestClient: it runs the app in a portal thread and blocks this loop while a request
    is handled, so the app could never fetch from an upstream served here, nor share its store with us.
    """
    async with running(app), asgi_client(app) as opened:
        yield opened


@pytest.fixture
def blog(upstream: Upstream) -> LiveBlog:
    """A three-post live blog at `/blog` on the upstream: one key event, one pinned post."""
    live = LiveBlog()
    live.post("b1", "Polls open", minute=0)
    live.post("b2", "First exit poll", minute=10, key_event=True)
    live.post("b3", "Read our guide", minute=20, pinned=True)
    upstream.routes["/blog"] = live.route()
    return live


@pytest.fixture
async def timeline(client: Client) -> dict[str, Any]:
    response = await client.post("/api/v1/timelines", json={"title": "Election night"}, headers=AUTH)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
async def source(
    client: Client, timeline: dict[str, Any], blog: LiveBlog, upstream: Upstream
) -> dict[str, Any]:
    """The blog attached to the timeline (so its first poll stored three events)."""
    response = await client.post(
        f"/api/v1/timelines/{timeline['id']}/sources", json={"url": upstream.url("/blog")}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
