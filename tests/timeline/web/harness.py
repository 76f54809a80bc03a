"""The widget tests' world: a Guardian blog with flags, the app serving it, host pages with the widget."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from playwright.async_api import Locator, Page, expect

from tests.timeline.api.support import AUTH
from tests.timeline.live.processes import live_env, running
from tests.timeline.store.drafts import draft, minutes
from tests.timeline.web.conftest import WATCH_VIOLATIONS, host_page
from tests.upstream import GuardianBlog, Upstream, closed_port, respond, snapshot
from timeline.store import Store

_names = itertools.count()


class FlaggedBlog(GuardianBlog):
    """A `GuardianBlog` whose blocks may carry CAPI `attributes` (`pinned`, `keyEvent`) and titles."""

    def __init__(self) -> None:
        super().__init__()
        self.attributes: dict[str, dict[str, bool]] = {}
        self.titles: dict[str, str] = {}

    def render(self) -> bytes:
        item = orjson.loads(super().render())
        for block in item["response"]["content"]["blocks"]["body"]:
            block["attributes"] = self.attributes.get(block["id"], {})
            block["title"] = self.titles.get(block["id"], "")
        return orjson.dumps(item)


@asynccontextmanager
async def serving(folder: Path) -> AsyncIterator[App]:
    """A real `timeline serve` over a SQLite file in `folder`, with an upstream for its timelines."""
    database_url = f"sqlite+aiosqlite:///{folder / 'timeline.db'}"
    port = closed_port()
    async with (
        Upstream() as upstream,
        running(
            ["serve", "--port", str(port)], live_env(database_url), folder / "serve.log", port=port
        ) as served,
    ):
        yield App(served.url, database_url, upstream)


@dataclass
class App:
    url: str
    database_url: str
    upstream: Upstream

    async def timeline(self, blog: FlaggedBlog) -> str:
        """A new timeline following `blog` (polled once already); the widget's `src` for it."""
        n = next(_names)
        self.upstream.routes[f"/blog-{n}"] = snapshot(blog.render)
        async with httpx.AsyncClient(base_url=self.url, headers=AUTH) as http:
            created = await http.post("/api/v1/timelines", json={"title": f"Widget {n}"})
            src = f"{self.url}/api/v1/timelines/{created.json()['id']}"
            added = await http.post(f"{src}/sources", json={"url": self.upstream.url(f"/blog-{n}")})
            assert added.status_code == 201, added.text
        return src


async def open_widget(
    page: Page, host: Upstream, app_url: str, src: str, attributes: str = "", css: str = "", lang: str = "en"
) -> Locator:
    """The host page with one widget (and a tall spacer below it), once its first page is shown."""
    body = (
        f'<live-timeline src="{src}" {attributes}><p>Server-rendered</p></live-timeline><div class="spacer">'
    )
    host.routes.update(host_page(body, app=app_url, css=".spacer{height:4000px}" + css, lang=lang))
    await page.add_init_script(WATCH_VIOLATIONS)
    await page.goto(host.url("/"))
    widget = page.locator("live-timeline")
    await expect(widget.locator(".ssr")).to_be_hidden()
    return widget


def bodies(widget: Locator) -> Locator:
    return widget.locator("ol.list > li .body")


async def no_violations(page: Page) -> None:
    assert await page.evaluate("window.violations") == []


@dataclass
class RawTimeline:
    """A timeline whose events this test writes to the store as they are: HTML unsanitized."""

    src: str
    source_id: str
    database_url: str

    async def write(self, upstream_id: str, body: str, *, minute: int) -> None:
        async with await Store.open(self.database_url) as store:
            event = draft(self.source_id, upstream_id, body, at=minutes(minute))
            await store.apply(self.source_id, [event], complete=False, now=datetime.now(UTC))


async def raw_timeline(app: App) -> RawTimeline:
    # Its source is a WordPress endpoint with no entries: polls change nothing and never delete.
    n = next(_names)
    empty = orjson.dumps({"entries": [], "refresh_interval": 10, "pages": 1})
    app.upstream.routes[f"/empty-{n}"] = respond("200 OK", {"Content-Type": "application/json"}, empty)
    async with httpx.AsyncClient(base_url=app.url, headers=AUTH) as http:
        created = await http.post("/api/v1/timelines", json={"title": f"Raw {n}"})
        src = f"{app.url}/api/v1/timelines/{created.json()['id']}"
        body = {"url": app.upstream.url(f"/empty-{n}"), "adapter": "wordpress"}
        added = await http.post(f"{src}/sources", json=body)
        assert added.status_code == 201, added.text
    return RawTimeline(src, added.json()["id"], app.database_url)
