"""The editors' console at `/admin`, in a real Chromium against a real `timeline serve` and upstream:
sign in, create, attach, watch, curate, publish, embed elsewhere, see a source fail; its accessibility."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Dialog, Locator, Page, expect
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.timeline.api.support import AUTH, KEY
from tests.timeline.web.conftest import ARTIFACTS, AXE_RUN, WATCH_VIOLATIONS, new_page
from tests.timeline.web.harness import App, no_violations, serving
from tests.upstream import GuardianBlog, Upstream, respond, snapshot

HIDDEN_WITHIN_MS = 5_000  # the promise: a hidden update leaves every open embed within 5 s


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App]:
    folder = tmp_path_factory.mktemp("console")
    async with serving(folder) as served:
        yield served


async def sign_in(page: Page, app: App, key: str = KEY) -> None:
    """Through the page, by keyboard: the key typed into its field, Enter to send."""
    await page.add_init_script(WATCH_VIOLATIONS)
    await page.goto(f"{app.url}/")  # the root sends editors to the console
    await expect(page).to_have_url(f"{app.url}/admin")
    await page.get_by_label("API key").press_sequentially(key)
    await page.keyboard.press("Enter")


def event(page: Page, text: str) -> Locator:
    return page.locator("ol.events > li", has_text=text)


async def test_an_editor_runs_a_timeline_from_the_console(
    app: App, browser: Browser, host_server: Upstream
) -> None:
    blog = GuardianBlog()
    blog.post("b1", "Polls open", minute=0)
    blog.post("b2", "First exit poll", minute=10)
    app.upstream.routes["/console-blog"] = snapshot(blog.render)
    async with new_page(browser, viewport={"width": 1280, "height": 900}) as page:
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url)
        await sign_in(page, app)
        await expect(page.get_by_text("Signed in as key1")).to_be_visible()

        await page.get_by_label("Title").fill("Console night")
        await page.get_by_role("button", name="Create timeline").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Console night")
        assert page.url.endswith("#/timelines/console-night")

        await page.get_by_label("Source URL").fill(app.upstream.url("/console-blog"))
        await page.get_by_role("button", name="Add source").click()
        await expect(
            page.get_by_text("Added: guardian “Election night – live”, 2 updates found")
        ).to_be_visible()
        await expect(event(page, "Polls open")).to_be_visible()
        await expect(event(page, "First exit poll")).to_be_visible()

        blog.post("b3", "Turnout is high", minute=20)  # the poller finds it; the stream brings it
        await expect(event(page, "Turnout is high")).to_be_visible()
        assert await page.locator("ol.events > li h3").all_inner_texts() == [
            "Turnout is high",
            "First exit poll",
            "Polls open",
        ]

        async with new_page(browser) as embed:
            await embed.goto(f"{app.url}/embed/console-night")
            shown = embed.locator("live-timeline ol.list > li")
            await expect(shown.filter(has_text="Turnout is high")).to_have_count(1)

            await event(page, "Turnout is high").get_by_role("button", name="Hide").click()
            await expect(shown.filter(has_text="Turnout is high")).to_have_count(0, timeout=HIDDEN_WITHIN_MS)
            await expect(event(page, "Turnout is high").get_by_role("button", name="Unhide")).to_be_visible()
            await expect(event(page, "Turnout is high")).to_contain_text("Hidden")

            await page.get_by_label("Title", exact=True).fill("Count")
            await page.get_by_label("Body").fill(
                "<p>The count begins at <b>22:00</b><script>alert(1)</script></p>"
            )
            preview = page.locator("#post-preview")
            await expect(preview.locator("b")).to_have_text("22:00")  # as the server sanitized it
            assert await preview.locator("script").count() == 0
            await page.get_by_label("Key event", exact=True).check()
            await page.get_by_role("button", name="Publish").click()
            await expect(event(page, "The count begins at")).to_contain_text("Key event")
            await expect(shown.filter(has_text="The count begins at")).to_have_count(1)

        await page.get_by_role("button", name="Copy the iframe snippet").click()
        copied = await page.evaluate("navigator.clipboard.readText()")
        assert copied == await page.get_by_label("Iframe snippet").input_value()
        assert copied.startswith(f'<iframe data-live-timeline src="{app.url}/embed/console-night"')
        await expect(page.locator("ol.audit > li").first).to_contain_text("key1 posted")

        host = "<!doctype html><html lang='en'><head><title>Host</title></head><body><h1>Elsewhere</h1>"
        host_server.routes["/"] = respond("200 OK", {"Content-Type": "text/html"}, (host + copied).encode())
        async with new_page(browser) as elsewhere:
            # Another origin than the console's: another host name, and another port.
            await elsewhere.goto(host_server.url("/").replace("127.0.0.1", "localhost"))
            framed = elsewhere.frame_locator("iframe[data-live-timeline]").locator(
                "live-timeline ol.list > li"
            )
            await expect(framed.filter(has_text="The count begins at")).to_have_count(1)
            await expect(framed.filter(has_text="Turnout is high")).to_have_count(0)

        app.upstream.routes["/console-blog"] = respond("500 Internal Server Error", {}, b"down")
        source = page.locator("ul.sources > li")
        await expect(source.locator("dd.last-error")).to_contain_text("fetch.http_status")
        await expect(source.locator("dd.last-error")).to_contain_text("500")
        await expect(source.locator("dd").first).to_have_text("Failing")
        await no_violations(page)
        ARTIFACTS.mkdir(exist_ok=True)
        await page.set_viewport_size({"width": 1280, "height": 1200})
        await page.evaluate("scrollTo(0, 0)")
        await page.screenshot(path=ARTIFACTS / "console-timeline-1280.png")  # docs/console.png

        await page.get_by_role("link", name="All timelines").click()
        listed = page.locator("ul.timelines > li").filter(has=page.get_by_role("link", name="Console night"))
        await expect(listed).to_contain_text("3 events")  # the hidden one is not counted
        await expect(listed).to_contain_text("1 of 1 source failing")
    assert KEY not in _served_log(app)


def _served_log(app: App) -> str:
    """Everything the server printed: the key must never appear in it."""
    folder = Path(app.database_url.removeprefix("sqlite+aiosqlite:///")).parent
    return (folder / "serve.log").read_text(errors="replace")


CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src https:; connect-src 'self'; "
    "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types console"
)


async def test_the_page_has_a_strict_policy_and_its_files_are_served_compressed(app: App) -> None:
    async with httpx.AsyncClient(base_url=app.url) as http:
        page = await http.get("/admin")
        script = await http.get("/admin/console.js", headers={"Accept-Encoding": "br"})
        again = await http.get("/admin/console.js", headers={"If-None-Match": script.headers["etag"]})
    assert page.headers["content-security-policy"] == CONSOLE_CSP
    assert (page.headers["x-content-type-options"], page.headers["referrer-policy"]) == (
        "nosniff",
        "no-referrer",
    )
    document = HTMLParser(page.text)
    assert [s.attributes.get("src") for s in document.css("script")] == ["/admin/console.js"]  # none inline
    assert document.css_first("input") is None  # the sign-in form is the script's: nothing to submit bare
    assert script.headers["content-encoding"] == "br" and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert again.status_code == 304


async def test_the_key_stays_in_the_tab_and_off_urls_and_cookies(app: App, browser: Browser) -> None:
    async with new_page(browser) as page:
        await sign_in(page, app)
        await expect(page.get_by_text("Signed in as key1")).to_be_visible()
        assert await page.evaluate("sessionStorage.getItem('timeline-console-key')") == KEY
        assert await page.evaluate("localStorage.length") == 0
        assert await page.context.cookies() == []
        assert KEY not in page.url

        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_label("API key")).to_be_visible()
        assert await page.evaluate("sessionStorage.length") == 0


async def test_a_wrong_key_is_refused_in_words(app: App, browser: Browser) -> None:
    async with new_page(browser) as page:
        await sign_in(page, app, key="not-the-key")
        await expect(page.get_by_role("alert")).to_contain_text("That API key is not valid here")
        assert await page.evaluate("sessionStorage.length") == 0
        assert "not-the-key" not in page.url


async def test_a_source_that_cannot_be_used_is_explained(app: App, browser: Browser) -> None:
    app.upstream.routes["/not-a-blog"] = respond("200 OK", {"Content-Type": "text/plain"}, b"hello")
    async with httpx.AsyncClient(base_url=app.url, headers=AUTH) as http:
        created = (await http.post("/api/v1/timelines", json={"title": "Refusals"})).json()
    async with new_page(browser) as page:
        await sign_in(page, app)
        await page.goto(f"{app.url}/admin#/timelines/{created['slug']}")
        await page.get_by_label("Source URL").fill(app.upstream.url("/not-a-blog"))
        await page.get_by_role("button", name="Add source").click()
        await expect(page.get_by_role("alert").filter(has_text="Cannot use this source")).to_be_visible()
        await expect(page.locator("ul.sources")).to_contain_text("No sources yet.")


async def curated_timeline(app: App) -> str:
    """A timeline with an editors' post, a hidden one, a pinned key event and a note: every state shown."""
    async with httpx.AsyncClient(base_url=app.url, headers=AUTH) as http:
        created = (await http.post("/api/v1/timelines", json={"title": "Looks"})).json()
        events = f"/api/v1/timelines/{created['id']}/events"
        first = (await http.post(events, json={"body_html": "<p>Doors open at <b>nine</b></p>"})).json()
        second = (
            await http.post(events, json={"body_html": "<p>Queue outside</p>", "title": "Queues"})
        ).json()
        await http.patch(
            f"{events}/{first['id']}", json={"pinned": True, "key_event": True, "note": "Official"}
        )
        await http.patch(f"{events}/{second['id']}", json={"hidden": True})
    slug: str = created["slug"]
    return slug


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
async def test_axe_finds_nothing_serious_at_both_widths_in_both_themes(
    app: App, browser: Browser, axe: Path, width: int, scheme: str
) -> None:
    slug = await curated_timeline(app)
    viewport = {"width": width, "height": 900 if width > 400 else 844}
    async with new_page(browser, viewport=viewport, color_scheme=scheme) as page:
        await page.add_init_script(path=str(axe))
        await sign_in(page, app)
        await expect(page.locator("ul.timelines > li").first).to_be_visible()
        assert await page.evaluate(AXE_RUN, None) == [], "timelines"
        await page.goto(f"{app.url}/admin#/timelines/{slug}")
        await expect(event(page, "Queues")).to_contain_text("Hidden")
        await expect(page.get_by_label("Iframe snippet")).not_to_have_value("")
        assert await page.evaluate(AXE_RUN, None) == [], "timeline"
        assert await page.evaluate("document.documentElement.scrollWidth") <= width  # nothing runs off
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=ARTIFACTS / f"console-{width}-{scheme}.png", full_page=True)
        await no_violations(page)


async def test_every_control_is_reached_by_the_keyboard_and_named(app: App, browser: Browser) -> None:
    slug = await curated_timeline(app)
    async with new_page(browser) as page:
        await sign_in(page, app)
        await expect(page.get_by_text("Signed in as key1")).to_be_visible()
        await page.goto(f"{app.url}/admin#/timelines/{slug}")
        await expect(page.get_by_label("Iframe snippet")).not_to_have_value("")
        controls = "a[href], button:not([hidden]), input, textarea, iframe"
        expected = await page.locator(f"main :is({controls})").count()
        reached: set[str] = set()
        # Round the whole page, from wherever focus is: the embed preview's own controls take presses too.
        for _ in range(3 * expected + 50):
            await page.keyboard.press("Tab")
            reached.add(await page.evaluate(FOCUSED))
        names = await page.evaluate(UNNAMED, controls)
        assert names == [], "controls without an accessible name"
        missing = await page.evaluate(NOT_REACHED, [controls, sorted(reached)])
        assert missing == []

        pin = event(page, "Doors open").get_by_role("button", name="Pin")
        await expect(pin).to_have_attribute("aria-pressed", "true")
        await pin.focus()
        await page.keyboard.press("Enter")
        await expect(pin).to_have_attribute("aria-pressed", "false")
        await expect(pin).to_be_focused()  # the list was drawn again; focus stays where it was


# A stable path of an element (child indexes from the root), to tell controls apart.
PATH = """const path = (el) => el.parentElement
  ? `${path(el.parentElement)}>${[...el.parentElement.children].indexOf(el)}` : '';"""
FOCUSED = f"(() => {{ {PATH} return path(document.activeElement); }})()"
NOT_REACHED = (
    "([selector, reached]) => {"
    + PATH
    + """
  const seen = new Set(reached);
  return [...document.querySelectorAll(`main :is(${selector})`)]
    .filter((el) => el.offsetParent !== null && !seen.has(path(el)))
    .map((el) => el.outerHTML.slice(0, 80));
}"""
)
# Controls whose accessible name would be empty: no text, label, aria-label or title.
UNNAMED = """(selector) => [...document.querySelectorAll(`main :is(${selector})`)]
  .filter((el) => el.offsetParent !== null)
  .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.title || el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 80))"""


async def test_notes_edits_deletions_polls_and_removals_with_confirmation(app: App, browser: Browser) -> None:
    blog = GuardianBlog()
    blog.post("b1", "Results expected", minute=0)
    app.upstream.routes["/chores-blog"] = snapshot(blog.render)
    slug = await curated_timeline(app)
    async with new_page(browser) as page:
        dialogs: list[str] = []

        async def confirm(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            await dialog.accept()

        page.on("dialog", confirm)
        await sign_in(page, app)
        await page.goto(f"{app.url}/admin#/timelines/{slug}")

        queues = event(page, "Queues")
        await queues.get_by_role("button", name="Unhide").click()
        await expect(queues.get_by_role("button", name="Hide")).to_be_visible()
        await queues.get_by_role("button", name="Note").click()
        await queues.get_by_label("Note").fill("Police estimate")
        await queues.get_by_role("button", name="Save note").click()
        await expect(queues.locator(".note")).to_have_text("Note: Police estimate")

        await queues.get_by_role("button", name="Edit").click()
        await expect(page.get_by_role("heading", name="Edit post")).to_be_focused()
        await page.get_by_label("Body").fill("<p>Queue round the block</p>")
        await page.get_by_role("button", name="Save post").click()
        await expect(event(page, "Queue round the block")).to_be_visible()
        await expect(event(page, "Queue outside")).to_have_count(0)

        await event(page, "Queue round the block").get_by_role("button", name="Delete").click()
        await expect(event(page, "Queue round the block")).to_have_count(0)
        assert dialogs[-1].startswith("Delete the post")

        await page.get_by_label("Source URL").fill(app.upstream.url("/chores-blog"))
        await page.get_by_role("button", name="Add source").click()
        await expect(event(page, "Results expected")).to_be_visible()
        blog.post("b2", "Polling stations close", minute=5)
        await page.get_by_role("button", name="Poll now").click()
        await expect(page.get_by_text("1 new, 0 updated, 0 deleted")).to_be_visible()
        await page.get_by_role("button", name="Remove").click()
        assert dialogs[-1].startswith("Remove http://127.0.0.1")
        await expect(page.locator("ul.sources")).to_contain_text("No sources yet.")
        await expect(event(page, "Results expected")).to_have_count(0)  # its events leave with it

        await page.get_by_role("link", name="All timelines").click()
        looks = page.locator("ul.timelines > li").filter(
            has=page.get_by_role("link", name="Looks", exact=True)
        )
        await looks.first.get_by_role("button", name="End").click()
        await expect(looks.first.locator(".status")).to_have_text("Ended")
        await looks.first.get_by_role("button", name="Reopen").click()
        await expect(looks.first.locator(".status")).to_have_text("Live")
        before = await looks.count()
        await looks.first.get_by_role("button", name="Delete").click()
        assert dialogs[-1].startswith("Delete “Looks”")
        await expect(looks).to_have_count(before - 1)
        await no_violations(page)
