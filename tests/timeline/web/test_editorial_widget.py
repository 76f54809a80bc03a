"""Editors' changes reach `<live-timeline>` live (in a real Chromium, against a real `timeline serve`): a note
shown as text under the title, a hidden update gone, a retitled one renamed, a post of the editors' own
arriving and leaving; and the embed page renders the note escaped, without JavaScript."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.timeline.api.support import AUTH
from tests.timeline.web.harness import App, FlaggedBlog, bodies, open_widget, serving
from tests.upstream import Upstream

# Notes are text as the editor typed it, never read as HTML: this one's `<img …>` and `<b>` must reach the
# reader as text.
SENT = "<img src=x onerror=alert(1)> Figures <b>from</b> the count"
NOTE = SENT


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App]:
    folder = tmp_path_factory.mktemp("editorial-widget")
    async with serving(folder) as served:
        yield served


async def _events(http: httpx.AsyncClient, src: str) -> dict[str, dict[str, Any]]:
    page = (await http.get(f"{src}/events", params={"limit": 200})).json()
    return {event["upstream_id"]: event for event in page["events"]}


async def test_editorial_changes_reach_the_widget_live(
    app: App, host_server: Upstream, browser_page: Page
) -> None:
    dialogs: list[str] = []
    browser_page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    blog = FlaggedBlog()
    for minute in range(3):
        blog.post(f"b{minute}", f"Update {minute}", minute=minute)
    src = await app.timeline(blog)
    widget = await open_widget(browser_page, host_server, app.url, src)
    await expect(bodies(widget)).to_have_text(["Update 2", "Update 1", "Update 0"])

    async with httpx.AsyncClient(headers=AUTH) as http:
        events = await _events(http, src)
        noted = await http.patch(
            f"{src}/events/{events['b1']['id']}", json={"note": SENT, "title": "Turnout"}
        )
        assert noted.status_code == 200, noted.text
        note = widget.locator("ol.list > li .editor-note")
        await expect(note).to_have_text(f"Editor’s note: {NOTE}")
        await expect(widget.locator("ol.list > li h3")).to_have_text(["Turnout"])
        assert await note.locator("img").count() == 0

        hidden = await http.patch(f"{src}/events/{events['b2']['id']}", json={"hidden": True})
        assert hidden.status_code == 200, hidden.text
        await expect(bodies(widget)).to_have_text(["Update 1", "Update 0"])

        posted = await http.post(f"{src}/events", json={"body_html": "<p>Our own update</p>", "pinned": True})
        assert posted.status_code == 201, posted.text
        await expect(widget.locator("ol.pinned > li .body")).to_have_text(["Our own update"])
        gone = await http.delete(f"{src}/events/{posted.json()['id']}")
        assert gone.status_code == 204
        await expect(widget.locator("ol.pinned > li")).to_have_count(0)

        embed = await http.get(src.replace("/api/v1/timelines/", "/embed/"))
    assert embed.status_code == 200
    shown = "&lt;img src=x onerror=alert(1)&gt; Figures &lt;b&gt;from&lt;/b&gt; the count"
    assert f"Editor’s note:</strong> {shown}" in embed.text
    assert "Update 2" not in embed.text and "Our own update" not in embed.text
    assert dialogs == []
