"""`<live-timeline>` in a real Chromium, on a host page of another origin with a strict CSP, against a real
`timeline serve` polling a scripted local Guardian blog (tests/upstream.py)."""

from __future__ import annotations

import asyncio
import gzip
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, Request, Route, expect

from tests.timeline.live.processes import REPO, live_env, running
from tests.timeline.web.conftest import ARTIFACTS, AXE_RUN, WAIT_MS, host_page, new_page
from tests.timeline.web.harness import (
    App,
    FlaggedBlog,
    bodies,
    no_violations,
    open_widget,
    raw_timeline,
    serving,
)
from tests.upstream import T0, Upstream, closed_port

WIDGET = REPO / "timeline" / "web" / "static" / "widget.js"
FRAMES = "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
GZIP_BUDGET = 15 * 1024


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App]:
    folder = tmp_path_factory.mktemp("widget")
    async with serving(folder) as served:
        yield served


async def test_first_page_then_live_inserts_edits_deletions_and_the_pinned_post(
    app: App, host_server: Upstream, browser_page: Page
) -> None:
    blog = FlaggedBlog()
    for minute in range(5):
        blog.post(f"b{minute}", f"Update {minute}", minute=minute)
    blog.attributes["b1"] = {"pinned": True}
    widget = await open_widget(browser_page, host_server, app.url, await app.timeline(blog))
    await expect(bodies(widget)).to_have_text([f"Update {n}" for n in (4, 3, 2, 0)])  # pinned: in its box
    await expect(widget.locator("ol.pinned > li .body")).to_have_text(["Update 1"])
    pinned, listed = widget.locator("ol.pinned"), widget.locator("ol.list")
    assert (await pinned.bounding_box() or {})["y"] < (await listed.bounding_box() or {})["y"]
    first_time = widget.locator("ol.list > li time").first
    await expect(first_time).to_have_attribute("datetime", "2024-05-01T12:04:00Z")
    await expect(first_time).to_have_text("1 May 2024, 12:04")  # en-GB, UTC: the page's context

    blog.post("b5", "Update 5", minute=5)  # at the top of the page: shown at once, and announced
    await expect(bodies(widget)).to_have_text([f"Update {n}" for n in (5, 4, 3, 2, 0)])
    await expect(widget.locator("[role=status]")).to_have_text("1 new update")

    blog.edit("b2", "Update 2, corrected")
    blog.delete("b0")
    await expect(bodies(widget)).to_have_text(["Update 5", "Update 4", "Update 3", "Update 2, corrected"])
    edited = widget.locator("ol.list > li", has_text="Update 2, corrected")
    await expect(edited.locator("[part~=updated]")).to_have_text(re.compile(r"^Updated \d\d:\d\d$"))

    await read_past_the_first_post(browser_page, widget)
    blog.post("b6", "Update 6", minute=6)
    fresh = widget.get_by_role("button", name="1 new update")
    await expect(fresh).to_be_visible()
    await expect(bodies(widget).first).to_have_text("Update 5")  # nothing moved under the reader's eyes
    await fresh.click()
    await expect(bodies(widget)).to_have_text([f"Update {n}" for n in (6, 5, 4, 3)] + ["Update 2, corrected"])
    await expect(fresh).to_be_hidden()
    await no_violations(browser_page)


async def read_past_the_first_post(page: Page, widget: Locator) -> None:
    """Scroll so the list's first post is just above the viewport and the rest of it in view."""
    box = await widget.locator("ol.list > li").first.bounding_box()
    assert box is not None
    await page.evaluate("(y) => window.scrollTo(0, y)", box["y"] + box["height"] + 1)
    await page.evaluate(FRAMES)  # the widget's IntersectionObserver has seen the scroll


async def test_times_are_in_the_readers_locale_and_zone_and_relative_within_the_hour(
    app: App, host_server: Upstream, browser: Browser
) -> None:
    blog = FlaggedBlog()
    blog.post("old", "Polls open", minute=0)
    recent = int((datetime.now(UTC) - T0).total_seconds() // 60) - 5
    blog.post("new", "Exit poll", minute=recent)
    async with new_page(browser, locale="de-DE", timezone_id="America/New_York") as page:
        # A page that says no language: the browser's, German, for labels and dates alike.
        widget = await open_widget(page, host_server, app.url, await app.timeline(blog), lang="")
        times = widget.locator("ol.list > li time")
        await expect(times.last).to_have_text("01.05.2024, 08:00")  # 12:00 UTC is 08:00 in New York
        await expect(times.last).to_have_attribute("datetime", "2024-05-01T12:00:00Z")
        await expect(times.first).to_have_text(re.compile(r"^vor \d+ Minuten$"))
        await expect(widget.locator("[part~=order]")).to_have_text("Neueste zuerst")


async def test_key_events_filter_and_the_order_remembered_across_reloads(
    app: App, host_server: Upstream, browser_page: Page
) -> None:
    blog = FlaggedBlog()
    for minute in range(4):
        blog.post(f"b{minute}", f"Update {minute}", minute=minute)
    blog.attributes["b2"] = {"keyEvent": True}
    widget = await open_widget(browser_page, host_server, app.url, await app.timeline(blog))
    await expect(bodies(widget)).to_have_count(4)

    key_events = widget.get_by_role("button", name="Only key events")
    await key_events.click()
    await expect(key_events).to_have_attribute("aria-pressed", "true")
    await expect(bodies(widget)).to_have_text(["Update 2"])
    await key_events.press("Enter")  # keyboard too
    await expect(bodies(widget)).to_have_count(4)

    order = widget.get_by_role("button", name=re.compile("^Order"))
    await expect(order).to_have_text("Newest first")
    await order.click()
    await expect(bodies(widget)).to_have_text([f"Update {n}" for n in range(4)])
    await browser_page.reload()
    await expect(widget.locator(".ssr")).to_be_hidden()
    await expect(order).to_have_text("Oldest first")
    await expect(bodies(widget)).to_have_text([f"Update {n}" for n in range(4)])
    await no_violations(browser_page)


async def test_attributes_set_the_first_view_and_load_more_follows_the_cursor(
    app: App, host_server: Upstream, browser_page: Page
) -> None:
    blog = FlaggedBlog()
    for minute in range(6):
        blog.post(f"b{minute}", f"Update {minute}", minute=minute)
    blog.attributes.update(b1={"keyEvent": True}, b4={"keyEvent": True})
    src = await app.timeline(blog)
    widget = await open_widget(browser_page, host_server, app.url, src, 'order="asc" limit="2" key-events')
    await expect(bodies(widget)).to_have_text(["Update 1", "Update 4"])
    await expect(widget.get_by_role("button", name="Only key events")).to_have_attribute(
        "aria-pressed", "true"
    )

    widget = await open_widget(browser_page, host_server, app.url, src, 'limit="2"')
    await expect(bodies(widget)).to_have_text(["Update 5", "Update 4"])
    more = widget.get_by_role("button", name="Load more")
    await more.click()
    await expect(bodies(widget)).to_have_text([f"Update {n}" for n in (5, 4, 3, 2)])
    await more.press("Enter")
    await expect(bodies(widget)).to_have_count(6)
    await expect(more).to_be_hidden()


async def test_keyboard_focus_is_visible_and_reduced_motion_is_respected(
    app: App, host_server: Upstream, browser: Browser
) -> None:
    blog = FlaggedBlog()
    blog.post("b0", "Update 0", minute=0)
    async with new_page(browser, reduced_motion="reduce") as page:
        widget = await open_widget(page, host_server, app.url, await app.timeline(blog))
        await page.keyboard.press("Tab")
        order = widget.locator("[part~=order]")
        await expect(order).to_be_focused()
        await expect(order).to_have_css("outline-style", "solid")
        blog.edit("b0", "Update 0, corrected")
        edited = widget.locator("ol.list > li article.changed")
        await expect(edited).to_have_text(re.compile("Update 0, corrected"))
        await expect(edited).to_have_css("animation-name", "none")


XSS = (
    "Marker: still readable"
    "<script>window.__xss = 1</script>"
    '<img src="x" onerror="window.__xss = 2">'
    '<a href="javascript:window.__xss = 3">a javascript: link</a>'
    '<a href="jav&#x09;ascript:alert(4)">an encoded one</a>'
    '<svg onload="window.__xss = 5"><script>alert(5)</script></svg>'
    '<svg><a xlink:href="javascript:alert(6)"><text x="9" y="9">an SVG link</text></a></svg>'
    '<iframe srcdoc="<script>parent.__xss = 7</script>"></iframe>'
    '<details open ontoggle="window.__xss = 8">details</details>'
    '<p style="background:url(javascript:alert(9))">styled</p>'
    '<form action="javascript:alert(10)"><button formaction="javascript:alert(11)">go</button></form>'
    '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss = 12">'
)
# What is left of the payloads in the shadow DOM: anything that could run or load a script.
DANGER = """(widget) => [...widget.shadowRoot.querySelectorAll('*')].flatMap((el) => [
  ...['script', 'iframe', 'svg', 'math', 'form', 'style', 'object', 'embed'].includes(el.localName)
    ? [el.localName] : [],
  ...[...el.attributes].filter((a) => /^on|^style$|^srcdoc$/i.test(a.name)
    || (/^(href|src|action|formaction)$/i.test(a.name) && !/^https?:/i.test(a.value))).map((a) => a.name),
])"""


async def test_hostile_html_executes_nothing(app: App, host_server: Upstream, browser_page: Page) -> None:
    """Through the sanitizer (an upstream update), and straight from the store (the widget's own scrub)."""
    dialogs: list[str] = []
    browser_page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    blog = FlaggedBlog()
    blog.post("calm", "Calm before", minute=0)
    widget = await open_widget(browser_page, host_server, app.url, await app.timeline(blog))
    blog.post("xss", XSS, minute=1)
    await expect(bodies(widget).first).to_contain_text("Marker: still readable")
    blog.post("after", "After", minute=2)  # a later change: handlers had their chance to run
    await expect(bodies(widget).first).to_have_text("After")
    assert await widget.evaluate(DANGER) == []
    assert await browser_page.evaluate("window.__xss") is None
    await no_violations(browser_page)  # the sanitizer left nothing for the host's CSP to block

    raw = await raw_timeline(app)
    widget = await open_widget(browser_page, host_server, app.url, raw.src)
    await raw.write("xss", XSS, minute=1)
    await expect(bodies(widget).first).to_contain_text("Marker: still readable")
    await raw.write("after", "After", minute=2)
    await expect(bodies(widget).first).to_have_text("After")
    assert await widget.evaluate(DANGER) == []
    assert await browser_page.evaluate("window.__xss") is None
    assert dialogs == []
    # Chrome reports handler and style attributes as it parses them, even in an inert <template>, where
    # nothing runs; the scrub removes them before anything is inserted.
    reported = {v.split()[0] for v in await browser_page.evaluate("window.violations")}
    assert reported <= {"script-src-attr", "style-src-attr"}


async def test_says_it_is_reconnecting_while_the_server_is_down_then_resumes_by_seq(
    tmp_path: Path, host_server: Upstream, browser_page: Page
) -> None:
    """The server stops for 15 s, misses nothing upstream while down, and comes back on the same port: the
    widget says it is reconnecting meanwhile, then shows what it missed, each update once, and is live."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}"
    env, port = live_env(database_url), closed_port()
    blog = FlaggedBlog()
    for minute in range(3):
        blog.post(f"b{minute}", f"Update {minute}", minute=minute)
    async with Upstream() as upstream:
        async with running(["serve", "--port", str(port)], env, tmp_path / "first.log", port=port) as first:
            src = await App(first.url, database_url, upstream).timeline(blog)
            widget = await open_widget(browser_page, host_server, first.url, src)
            await expect(bodies(widget)).to_have_count(3)
            state = widget.locator("[part~=state]")
            await expect(state).to_be_hidden()  # live: nothing to say
        down = time.monotonic()
        await expect(state).to_have_text("Reconnecting…", timeout=5_000)
        blog.post("b3", "Update 3", minute=3)
        blog.post("b4", "Update 4", minute=4)
        blog.edit("b1", "Update 1, corrected")
        blog.delete("b0")
        await asyncio.sleep(15 - (time.monotonic() - down))  # an outage of 15 s is the point here
        await expect(state).to_have_text("Reconnecting…")
        async with running(["serve", "--port", str(port)], env, tmp_path / "again.log", port=port):
            after = ["Update 4", "Update 3", "Update 2", "Update 1, corrected"]
            await expect(bodies(widget)).to_have_text(after)
            blog.post("b5", "Update 5", minute=5)  # and it is live again
            await expect(bodies(widget)).to_have_text(["Update 5", *after])
            await expect(state).to_be_hidden()
    await no_violations(browser_page)


async def test_without_server_sent_events_it_polls_the_changes_by_etag(
    app: App, host_server: Upstream, browser_page: Page
) -> None:
    requests: list[tuple[str, dict[str, str]]] = []

    async def record(request: Request) -> None:
        requests.append((request.url, await request.all_headers()))

    browser_page.on("request", record)
    await browser_page.add_init_script("delete window.EventSource")
    blog = FlaggedBlog()
    blog.post("b0", "Update 0", minute=0)
    widget = await open_widget(browser_page, host_server, app.url, await app.timeline(blog))
    blog.post("b1", "Update 1", minute=1)
    blog.edit("b0", "Update 0, corrected")
    await expect(bodies(widget)).to_have_text(["Update 1", "Update 0, corrected"])
    await expect(widget.locator("[part~=state]")).to_have_text(re.compile(r"^Updated \d\d:\d\d$"))
    assert not [url for url, _ in requests if "/stream" in url]
    async with asyncio.timeout(WAIT_MS / 1000):  # a quiet poll: the browser revalidates it by ETag
        while not any("if-none-match" in headers for url, headers in requests if "/changes?since=" in url):
            await asyncio.sleep(0.1)


async def test_a_stream_that_does_not_open_within_seconds_gives_way_to_polling(
    app: App, host_server: Upstream, browser_page: Page
) -> None:
    """As when the browser's six connections to the host are all taken: the stream's request never
    gets an answer."""
    held: list[Route] = []

    async def hold(route: Route) -> None:
        held.append(route)  # and never answered

    await browser_page.route(re.compile(r"/stream\?"), hold)
    blog = FlaggedBlog()
    blog.post("b0", "Update 0", minute=0)
    widget = await open_widget(browser_page, host_server, app.url, await app.timeline(blog))
    blog.post("b1", "Update 1", minute=1)
    await expect(bodies(widget)).to_have_text(["Update 1", "Update 0"])
    await expect(widget.locator("[part~=state]")).to_have_text(re.compile(r"^Updated \d\d:\d\d$"))
    assert held


STORY = {
    "open": ("Polls have opened across the region. Turnout at midday is 21%, slightly up on last time.", 0),
    "welcome": ("Welcome to our live coverage of election night. Results are expected from 10pm.", 5),
    "first": ("First result: Northgate declares, and the sitting member is re-elected by 1,204 votes.", 40),
    "recount": ("Counting in Riverside is paused for a recount.", 52),
}
BACKGROUND = "(widget) => getComputedStyle(widget.shadowRoot.querySelector('.root')).backgroundColor"
LIGHT, DARK = "rgb(255, 255, 255)", "rgb(22, 24, 28)"


async def test_themes_custom_properties_parts_and_screenshots(
    app: App, host_server: Upstream, browser: Browser
) -> None:
    blog = FlaggedBlog()
    for block_id, (text, minute) in STORY.items():
        blog.post(block_id, text, minute=minute)
    blog.attributes.update(welcome={"pinned": True}, first={"keyEvent": True})
    src = await app.timeline(blog)
    blog.edit("recount", "Counting in Riverside is paused for a recount after a margin of 61 votes.")
    async with new_page(browser, viewport={"width": 640, "height": 900}) as page:
        widget = await open_widget(page, host_server, app.url, src)
        await expect(widget.locator("[part~=updated]")).to_have_count(1)
        assert await widget.evaluate(BACKGROUND) == LIGHT
        ARTIFACTS.mkdir(exist_ok=True)
        await widget.screenshot(path=ARTIFACTS / "widget-light.png", animations="disabled")
        await page.emulate_media(color_scheme="dark")  # theme="auto" (the default) follows the reader
        assert await widget.evaluate(BACKGROUND) == DARK
        await widget.screenshot(path=ARTIFACTS / "widget-dark.png", animations="disabled")
        await widget.evaluate("(widget) => widget.setAttribute('theme', 'light')")
        assert await widget.evaluate(BACKGROUND) == LIGHT
        await page.emulate_media(color_scheme="light")
        await widget.evaluate("(widget) => widget.setAttribute('theme', 'dark')")
        assert await widget.evaluate(BACKGROUND) == DARK

        themed = (
            "live-timeline{--lt-accent:rgb(200, 0, 0)} live-timeline::part(toolbar){outline:3px solid green}"
        )
        widget = await open_widget(page, host_server, app.url, src, css=themed)
        await expect(widget.locator("[part~=order]")).to_have_css("color", "rgb(200, 0, 0)")
        await expect(widget.locator("[part~=toolbar]")).to_have_css("outline-color", "rgb(0, 128, 0)")
        await no_violations(page)

    # Both themes side by side: the README's picture (docs/widget.png) is this file.
    pair = "".join(
        f'<live-timeline src="{src}" theme="{t}" height="0"></live-timeline>' for t in ("light", "dark")
    )
    side_by_side = (
        "body{margin:0;display:flex;align-items:flex-start;gap:16px;padding:16px;background:#8a8f98}"
        "live-timeline{flex:1}"
    )
    host_server.routes.update(host_page(pair, app=app.url, css=side_by_side))
    async with new_page(browser, viewport={"width": 1120, "height": 540}) as page:
        await page.goto(host_server.url("/"))
        await expect(page.locator("live-timeline").locator("[part~=updated]")).to_have_count(2)
        await page.screenshot(path=ARTIFACTS / "widget-themes.png", animations="disabled")


def test_the_widget_stays_within_its_size_budget() -> None:
    assert len(gzip.compress(WIDGET.read_bytes(), compresslevel=9)) < GZIP_BUDGET


async def test_key_events_summary_jumps_and_load_more_keeps_focus_and_says_what_it_loaded(
    app: App, host_server: Upstream, browser_page: Page
) -> None:
    blog = FlaggedBlog()
    for minute in range(12):
        blog.post(f"b{minute}", f"Update {minute}", minute=minute)
    blog.titles.update(b1="Polls open", b10="Turnout record")
    blog.attributes.update(b1={"keyEvent": True}, b10={"keyEvent": True}, b11={"pinned": True})
    src = await app.timeline(blog)
    widget = await open_widget(browser_page, host_server, app.url, src, 'limit="3"')
    await expect(widget.locator("ol.pinned > li .body")).to_have_text(["Update 11"])
    await expect(bodies(widget)).to_have_text(["Update 10", "Update 9"])  # the pinned post once, in its box

    summary = widget.locator("[part~=summary]")
    await summary.locator("summary").click()
    await expect(summary.locator("summary")).to_have_text("Key events (2)")
    await expect(summary.get_by_role("link")).to_have_text(["Turnout record", "Polls open"])
    await summary.get_by_role("link", name="Polls open").click()  # not loaded yet: pages are, until it is
    target = widget.locator("ol.list > li", has_text="Update 1").last
    await expect(target).to_be_focused()
    await expect(target).to_be_in_viewport()  # scrolled to

    # Every time link says which post it is.
    names = await widget.locator("ol.list [part~=permalink]").evaluate_all(
        "(links) => links.map((a) => a.textContent)"
    )
    assert len(names) == len(set(names)) == 11
    await expect(
        widget.locator("ol.list > li", has_text="Update 10").locator("[part~=permalink]")
    ).to_have_text(re.compile(r"^1 May 2024, 12:10 – Turnout record$"))

    widget = await open_widget(browser_page, host_server, app.url, src, 'limit="4"')
    more = widget.get_by_role("button", name="Load more")
    await more.focus()
    await more.press("Enter")
    await expect(widget.locator("[role=status]")).to_have_text("4 more updates loaded")
    await expect(more).to_be_focused()
    await more.press("Enter")
    await expect(more).to_be_hidden()  # the last page: focus goes on to the first post it brought
    await expect(widget.locator("ol.list > li", has_text="Update 3")).to_be_focused()
    await expect(bodies(widget)).to_have_count(11)
    await expect(widget.locator("[role=status]")).to_have_text("4 more updates loaded")


async def test_lang_sets_labels_and_dates_and_defaults_to_the_pages_language(
    app: App, host_server: Upstream, browser_page: Page
) -> None:
    blog = FlaggedBlog()
    blog.post("b0", "Polls open", minute=0)
    blog.post("b1", "Exit poll", minute=1)
    blog.attributes["b1"] = {"keyEvent": True}
    src = await app.timeline(blog)
    blog.edit("b0", "Polls open, corrected")
    widget = await open_widget(browser_page, host_server, app.url, src, 'lang="de"')
    await expect(widget.locator("ol.list time").last).to_have_text("01.05.2024, 12:00")
    await expect(widget.locator("[part~=order]")).to_have_text("Neueste zuerst")
    await expect(widget.locator("[part~=filter]")).to_have_text("Nur wichtige Ereignisse")
    await expect(widget.locator("[part~=summary] summary")).to_have_text("Wichtige Ereignisse (1)")
    await expect(widget.locator("[part~=badge][part~=key]")).to_have_text("Wichtiges Ereignis")
    await expect(widget.locator("[part~=updated]")).to_have_text(re.compile(r"^Aktualisiert \d\d:\d\d$"))
    for lang, newest in (
        ("fr", "Plus récents d’abord"),
        ("es", "Más recientes primero"),
        ("en", "Newest first"),
    ):
        await widget.evaluate("(widget, lang) => widget.setAttribute('lang', lang)", lang)
        await expect(widget.locator("[part~=order]")).to_have_text(newest)
    await expect(widget.locator("ol.list time").last).to_have_text("1 May 2024, 12:00")  # en-GB browser

    widget = await open_widget(browser_page, host_server, app.url, src, lang="es")  # the page's language
    await expect(widget.locator("[part~=order]")).to_have_text("Más recientes primero")
    await expect(widget.locator("ol.list time").last).to_have_text("1 may 2024, 12:00")


PILL = """(button) => {
  const box = button.getBoundingClientRect();
  return {width: box.width, height: box.height,
          spills: button.scrollWidth > button.clientWidth || button.scrollHeight > button.clientHeight};
}"""


async def test_the_new_updates_button_is_readable_in_both_themes_and_axe_finds_nothing_serious(
    app: App, host_server: Upstream, browser: Browser, axe: Path
) -> None:
    blog = FlaggedBlog()
    for block_id, (text, minute) in STORY.items():
        blog.post(block_id, text, minute=minute)
    blog.attributes.update(welcome={"pinned": True}, first={"keyEvent": True})
    blog.titles["first"] = "Northgate declares"
    async with new_page(browser, viewport={"width": 390, "height": 700}) as page:
        await page.add_init_script(path=str(axe))
        widget = await open_widget(page, host_server, app.url, await app.timeline(blog))
        await read_past_the_first_post(page, widget)
        blog.post("late", "A late result from the coast.", minute=60)
        fresh = widget.get_by_role("button", name="1 new update")
        await expect(fresh).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        for scheme in ("light", "dark"):
            await page.emulate_media(color_scheme=scheme)
            pill = await fresh.evaluate(PILL)
            assert pill["width"] >= 24 and pill["height"] >= 24 and not pill["spills"], pill
            assert await page.evaluate(AXE_RUN, "live-timeline") == [], scheme
            await page.screenshot(path=ARTIFACTS / f"widget-new-updates-{scheme}.png")
        await expect(widget.locator("[role=status]")).to_have_text("1 new update")  # said politely
