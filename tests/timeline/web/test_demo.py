"""`timeline demo`: the bundled blog replayed step by step, and the whole demo as a real process."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.timeline.live.processes import START_WAIT, running
from tests.timeline.web.conftest import ARTIFACTS, AXE_RUN, new_page
from tests.upstream import closed_port
from timeline.web.demo import Replay, Script, load_script


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def blocks(body: bytes) -> dict[str, dict[str, Any]]:
    content = orjson.loads(body)["response"]["content"]
    listed = content["blocks"]["body"]
    assert content["blocks"]["totalBodyBlocks"] == len(listed)  # complete: a vanished block is deleted
    return {block["id"]: block for block in listed}


def test_the_bundled_blog_has_an_edit_a_deletion_key_events_and_a_pinned_post() -> None:
    actions = [action for step in load_script().steps for action in step]
    assert any(a.edit for a in actions) and any(a.delete for a in actions)
    assert any(a.key_event for a in actions) and any(a.pinned for a in actions)
    assert sum(a.post is not None for a in actions) >= 12


def test_a_step_is_taken_once_the_interval_passed_and_the_last_one_was_served() -> None:
    clock = Clock()
    replay = Replay(load_script(), interval=3.0, clock=clock)
    step, body = replay.serve()
    assert step == 0 and set(blocks(body)) == {"how-to-follow", "gathering"}
    clock.now = 2.9
    assert replay.serve()[0] == 0
    clock.now = 30.0  # long after: still one step per request, so no step goes unseen
    assert replay.serve()[0] == 1
    assert replay.serve()[0] == 1
    clock.now = 33.0
    assert replay.serve()[0] == 2


def test_edits_and_deletions_show_in_the_served_blog() -> None:
    clock = Clock()
    started = datetime(2026, 4, 12, 9, 0, tzinfo=UTC)
    moments = iter(started + timedelta(minutes=n) for n in range(100))
    replay = Replay(load_script(), interval=1.0, clock=clock, now=lambda: next(moments))
    seen: list[dict[str, dict[str, Any]]] = []
    while not replay.finished:
        clock.now += 1.0
        seen.append(blocks(replay.serve()[1]))
    edited = next(s["5k"] for s in seen if "corrected" in s.get("5k", {}).get("bodyHtml", ""))
    assert edited["lastModifiedDate"] > edited["firstPublishedDate"]
    assert any("dog" in s for s in seen) and "dog" not in seen[-1]
    assert seen[-1]["how-to-follow"]["attributes"]["pinned"] is True
    assert len(seen[-1]) == 11  # 12 posts, one deleted


def test_a_script_action_must_be_one_kind() -> None:
    bad = {"title": "t", "url": "https://x.example", "steps": [[{"post": "a", "delete": "a"}]]}
    try:
        Script.model_validate(bad)
    except ValueError as exc:
        assert "exactly one of post, edit or delete" in str(exc)
    else:
        raise AssertionError("an action naming two kinds was accepted")


async def test_timeline_demo_fills_a_timeline_live(tmp_path: Path) -> None:
    port = closed_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("TIMELINE_")}
    args = ["demo", "--port", str(port), "--interval", "0.2"]
    async with (
        running(args, env, tmp_path / "demo.log", port=port) as demo,
        httpx.AsyncClient(base_url=demo.url) as http,
    ):
        events = await until_replayed(http)
        assert any(e["deleted"] for e in events)
        assert any(e.get("revision", 0) >= 2 for e in events)  # tombstones carry no content
        assert any(e.get("key_event") for e in events) and any(e.get("pinned") for e in events)

        embed = await http.get("/embed/demo")
        assert embed.status_code == 200 and "Northhaven City Marathon" in embed.text
        assert f"{demo.url}/embed/demo" in demo.output()
        host = re.search(r"another origin: (http://127\.0\.0\.1:\d+/)", demo.output())
        assert host is not None, demo.output()
        page = (await http.get(host[1])).text
        assert f'<live-timeline src="{demo.url}/api/v1/timelines/demo" height="600">' in page
        assert f'<iframe data-live-timeline src="{demo.url}/embed/demo"' in page
        database = re.search(r"Demo database: (\S+)", demo.output())
        assert database is not None and Path(database[1]).is_file()
    assert not Path(database[1]).exists()  # a fresh database each run, removed on exit


async def until_replayed(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every event (tombstones too) once the last post of the blog is stored."""
    async with asyncio.timeout(START_WAIT * 2):
        while True:
            changes = (await http.get("/api/v1/timelines/demo/changes", params={"since": 0})).json()
            events: list[dict[str, Any]] = [change["event"] for change in changes.get("changes", [])]
            if any(e.get("upstream_id") == "goodbye" for e in events):
                return events
            await asyncio.sleep(0.2)


# Every layout shift of the document (its shadow roots included), from its first moment.
LAYOUT_SHIFTS = """
window.shifts = [];
new PerformanceObserver((list) => {
  for (const shift of list.getEntries()) {
    if (!shift.hadRecentInput) window.shifts.push([shift.startTime, shift.value]);
  }
}).observe({ type: 'layout-shift', buffered: true });
"""
# Cumulative Layout Shift as browsers report it: the largest session window (gaps < 1 s, at most 5 s).
CLS = """() => {
  let worst = 0, sum = 0, first = -Infinity, last = -Infinity;
  for (const [at, value] of window.shifts) {
    if (at - last > 1000 || at - first > 5000) [first, sum] = [at, 0];
    last = at;
    sum += value;
    worst = Math.max(worst, sum);
  }
  return worst;
}"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, str]]:
    """`timeline demo`, replayed to its end: its URL, and its host page's."""
    port = closed_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("TIMELINE_")}
    args = ["demo", "--port", str(port), "--interval", "0.2"]
    log = tmp_path_factory.mktemp("demo") / "demo.log"
    async with running(args, env, log, port=port) as process, httpx.AsyncClient(base_url=process.url) as http:
        await until_replayed(http)
        host = re.search(r"another origin: (http://127\.0\.0\.1:\d+/)", process.output())
        assert host is not None, process.output()
        yield process.url, host[1]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
async def test_the_demo_host_page_does_not_shift_and_axe_finds_nothing_serious(
    browser: Browser, demo: tuple[str, str], axe: Path, width: int, scheme: str
) -> None:
    _, host = demo
    viewport = {"width": width, "height": 900 if width > 400 else 844}
    async with new_page(browser, viewport=viewport, color_scheme=scheme) as page:
        await page.add_init_script(LAYOUT_SHIFTS)
        await page.add_init_script(path=str(axe))
        await page.goto(host)
        await expect(page.locator("live-timeline ol.list > li").first).to_be_visible()
        framed = page.frame_locator("iframe[data-live-timeline]").locator("live-timeline ol.list > li")
        await expect(framed.first).to_be_attached()
        await expect(page.locator("iframe[data-live-timeline]")).not_to_have_attribute("style", "")
        await page.wait_for_timeout(1000)  # shifts are reported a frame late: a second lets any stray one in
        assert await page.evaluate(CLS) < 0.1, await page.evaluate("window.shifts")
        assert await page.evaluate(AXE_RUN, None) == []
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=ARTIFACTS / f"demo-host-{width}-{scheme}.png")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_embed_page_has_no_serious_accessibility_violation(
    browser: Browser, demo: tuple[str, str], axe: Path, scheme: str
) -> None:
    url, _ = demo
    async with new_page(browser, color_scheme=scheme) as page:
        await page.add_init_script(path=str(axe))
        await page.goto(f"{url}/embed/demo")
        await expect(page.locator("live-timeline ol.list > li").first).to_be_visible()
        assert await page.evaluate(AXE_RUN, None) == []
        await page.screenshot(path=ARTIFACTS / f"embed-{scheme}.png", full_page=True)
