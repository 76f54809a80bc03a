"""One live connection per timeline per browser: the widgets of a page and the tabs of an origin share one
stream, counted at a real `timeline serve`; a reset of the timeline reloads what they show."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.timeline.api.support import AUTH
from tests.timeline.live.processes import Process, live_env, running
from tests.timeline.web.conftest import WAIT_MS, host_page
from tests.timeline.web.harness import App, FlaggedBlog, bodies, open_widget
from tests.upstream import Upstream, closed_port, snapshot

WIDGETS, TABS = 8, 7
DELIVERY = 10.0  # seconds from a post being stored to every widget showing it


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[App, Process]]:
    folder = tmp_path_factory.mktemp("sharing")
    database_url = f"sqlite+aiosqlite:///{folder / 'timeline.db'}"
    port = closed_port()
    env = live_env(database_url)
    async with (
        Upstream() as upstream,
        running(["serve", "--port", str(port)], env, folder / "serve.log", port=port) as process,
    ):
        yield App(process.url, database_url, upstream), process


@asynccontextmanager
async def tabs(browser: Browser) -> AsyncIterator[BrowserContext]:
    """One browser profile (its tabs share storage, locks and channels); fails on any page error."""
    context = await browser.new_context(
        locale="en-GB", timezone_id="UTC", viewport={"width": 900, "height": 900}
    )
    context.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
    try:
        yield context
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the pages: {errors}"


async def stored_within(pages: list[Page], text: str, since: float) -> None:
    """Every widget of every page shows `text` as its newest post, within DELIVERY of `since`."""
    for page in pages:
        left = max(0.1, DELIVERY - (time.monotonic() - since))
        newest = page.locator("live-timeline").locator("ol.list > li:first-child .body")
        await expect(newest.filter(has_text=text)).to_have_count(WIDGETS, timeout=left * 1000)


async def stored(app: App, src: str, count: int) -> float:
    """When the timeline's `count`-th event was stored (polled in from the blog)."""
    async with httpx.AsyncClient() as http, asyncio.timeout(WAIT_MS / 1000):
        while len((await http.get(f"{src}/events")).json()["events"]) < count:
            await asyncio.sleep(0.05)
    return time.monotonic()


async def test_eight_widgets_and_seven_tabs_share_one_stream_and_a_closed_leader_hands_it_on(
    served: tuple[App, Process], host_server: Upstream, browser: Browser
) -> None:
    app, process = served
    blog = FlaggedBlog()
    blog.post("b0", "Update 0", minute=0)
    src = await app.timeline(blog)
    widget = f'<live-timeline src="{src}" limit="5" height="0"></live-timeline>'
    host_server.routes.update(host_page(widget * WIDGETS, app=app.url))
    async with tabs(browser) as context:
        pages = []
        for _ in range(TABS):
            page = await context.new_page()
            await page.goto(host_server.url("/"))
            await expect(bodies(page.locator("live-timeline"))).to_have_count(WIDGETS)
            pages.append(page)
        await process.until_metric("timeline_sse_clients", 1)

        blog.post("b1", "Update 1", minute=1)
        await stored_within(pages, "Update 1", await stored(app, src, 2))
        assert await process.metric("timeline_sse_clients") == 1

        await pages.pop(0).close()  # the first tab took the lock: another one streams now
        blog.post("b2", "Update 2", minute=2)
        await stored_within(pages, "Update 2", await stored(app, src, 3))
        await process.until_metric("timeline_sse_clients", 1)
        for page in pages:  # and nothing twice
            await expect(bodies(page.locator("live-timeline").first)).to_have_text(
                ["Update 2", "Update 1", "Update 0"]
            )


async def test_a_timeline_recreated_under_the_same_slug_replaces_what_the_widget_shows(
    served: tuple[App, Process], host_server: Upstream, browser: Browser
) -> None:
    app, _ = served
    old, new = FlaggedBlog(), FlaggedBlog()
    old.post("o1", "Old post", minute=0)
    new.post("n1", "New post", minute=5)
    app.upstream.routes["/old"] = snapshot(old.render)
    app.upstream.routes["/new"] = snapshot(new.render)
    async with httpx.AsyncClient(base_url=app.url, headers=AUTH) as http:
        await _timeline(http, "reset-me", app.upstream.url("/old"))
        src = f"{app.url}/api/v1/timelines/reset-me"
        async with tabs(browser) as context:
            page = await context.new_page()
            widget = await open_widget(page, host_server, app.url, src)
            await expect(bodies(widget)).to_have_text(["Old post"])
            assert (await http.delete("/api/v1/timelines/reset-me")).status_code == 204
            await _timeline(http, "reset-me", app.upstream.url("/new"))
            await expect(bodies(widget)).to_have_text(["New post"])


async def _timeline(http: httpx.AsyncClient, slug: str, source: str) -> None:
    created = await http.post("/api/v1/timelines", json={"title": "Reset", "slug": slug})
    assert created.status_code == 201, created.text
    added = await http.post(f"/api/v1/timelines/{slug}/sources", json={"url": source})
    assert added.status_code == 201, added.text
