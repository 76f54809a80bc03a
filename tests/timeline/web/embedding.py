"""What the embed tests share: the app over a real SQLite file following a live blog on a real upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.timeline.api.support import AUTH, KEY, LiveBlog, asgi_client, build_app, running
from tests.upstream import Upstream
from timeline.settings import Settings

BASE = "http://testserver"  # the ASGI client's origin


def web_settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}",
        api_keys=KEY,
        allow_private_sources=True,
        **extra,
    )


def election_blog() -> LiveBlog:
    """Three posts: one key event, one pinned."""
    blog = LiveBlog()
    blog.post("b1", "Polls open", minute=0)
    blog.post("b2", "First exit poll", minute=10, key_event=True)
    blog.post("b3", "Read our guide", minute=20, pinned=True)
    return blog


@dataclass
class Site:
    """The app, a client to it, and the timeline `slug` following `blog` on `upstream`."""

    client: httpx.AsyncClient
    upstream: Upstream
    blog: LiveBlog
    timeline: dict[str, Any]
    source: dict[str, Any]

    async def poll(self) -> dict[str, int]:
        url = f"/api/v1/timelines/{self.timeline['id']}/sources/{self.source['id']}/poll"
        response = await self.client.post(url, headers=AUTH)
        assert response.status_code == 200, response.text
        counts: dict[str, int] = response.json()
        return counts


@asynccontextmanager
async def site(settings: Settings, blog: LiveBlog, title: str = "Election night") -> AsyncIterator[Site]:
    app = build_app(settings)
    async with Upstream() as upstream, running(app), asgi_client(app) as client:
        upstream.routes["/blog"] = blog.route()
        created = await client.post("/api/v1/timelines", json={"title": title}, headers=AUTH)
        assert created.status_code == 201, created.text
        timeline = created.json()
        attached = await client.post(
            f"/api/v1/timelines/{timeline['id']}/sources", json={"url": upstream.url("/blog")}, headers=AUTH
        )
        assert attached.status_code == 201, attached.text
        yield Site(client, upstream, blog, timeline, attached.json())
