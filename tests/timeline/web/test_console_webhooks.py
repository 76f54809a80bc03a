"""The console's webhooks panel, in a real Chromium against a real `timeline serve` delivering to a real
receiver on 127.0.0.1 that verifies signatures: add, the secret once, test, rotate, fail, disable, enable,
remove; by keyboard; its accessibility in both themes at both widths."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Dialog, Locator, Page, expect

from tests.timeline.api.support import AUTH, KEY
from tests.timeline.web.conftest import ARTIFACTS, AXE_RUN, new_page
from tests.timeline.web.harness import App, no_violations, serving
from tests.timeline.web.test_console import FOCUSED, NOT_REACHED, UNNAMED, sign_in
from tests.timeline.webhooks.harness import ReceiverProcess, receiver

_names = itertools.count()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App]:
    async with serving(tmp_path_factory.mktemp("console-webhooks")) as served:
        yield served


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hooks(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReceiverProcess]:
    async with receiver(tmp_path_factory.mktemp("receiver")) as process:
        yield process


async def new_timeline(app: App) -> tuple[str, str]:
    """A fresh timeline: its id and slug."""
    async with httpx.AsyncClient(base_url=app.url, headers=AUTH) as http:
        created = (await http.post("/api/v1/timelines", json={"title": f"Hooks {next(_names)}"})).json()
    return created["id"], created["slug"]


async def publish(app: App, timeline_id: str, text: str) -> int:
    """An editors' post written through the API; the seq of its change."""
    async with httpx.AsyncClient(base_url=app.url, headers=AUTH) as http:
        events = f"/api/v1/timelines/{timeline_id}/events"
        posted = await http.post(events, json={"body_html": f"<p>{text}</p>"})
    assert posted.status_code == 201, posted.text
    seq: int = posted.json()["seq"]
    return seq


async def open_timeline(page: Page, app: App, slug: str) -> None:
    await sign_in(page, app)
    await expect(page.get_by_text("Signed in as key1")).to_be_visible()
    await page.goto(f"{app.url}/admin#/timelines/{slug}")
    await expect(page.locator("ul.webhooks")).to_be_visible()


async def add_webhook(page: Page, url: str, description: str) -> str:
    """Through the form; the secret the page shows once."""
    await page.get_by_label("Webhook URL").fill(url)
    await page.get_by_label("Description").fill(description)
    await page.get_by_role("button", name="Add webhook").click()
    secret = page.get_by_label("Secret", exact=True)
    await expect(secret).to_have_value(_SECRET)
    return await secret.input_value()


_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=]{40,}$")


def webhook(page: Page, description: str) -> Locator:
    return page.locator("ul.webhooks > li", has_text=description)


def fact(item: Locator, name: str) -> Locator:
    """The value of the fact `name` in a webhook's health."""
    return item.locator(f"dt:text-is('{name}') + dd")


def deliveries(item: Locator, *texts: str) -> Locator:
    found = item.locator("ol.deliveries > li")
    for text in texts:
        found = found.filter(has_text=text)
    return found


async def kept_anywhere(page: Page, secret: str) -> list[str]:
    """Where the page keeps `secret` beyond its field: storage, cookies, the URL, the history."""
    stored = await page.evaluate(
        "JSON.stringify([{...sessionStorage}, {...localStorage}, document.cookie, location.href,"
        " history.state])"
    )
    cookies = str(await page.context.cookies())
    places = {"storage, URL or history": stored, "cookies": cookies}
    return [where for where, text in places.items() if secret in text]


async def test_an_editor_adds_tests_rotates_disables_and_removes_a_webhook(
    app: App, hooks: ReceiverProcess, browser: Browser
) -> None:
    timeline_id, slug = await new_timeline(app)
    async with new_page(browser, viewport={"width": 1280, "height": 1000}) as page:
        dialogs: list[str] = []

        async def confirm(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            await dialog.accept()

        page.on("dialog", confirm)
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url)
        await open_timeline(page, app, slug)
        await expect(page.locator("ul.webhooks")).to_have_text("No webhooks yet.")

        secret = await add_webhook(page, hooks.hook("desk"), "Desk alerts")
        await expect(page.get_by_text("it will not be shown again")).to_be_visible()
        await page.get_by_role("button", name="Copy the secret").click()
        assert await page.evaluate("navigator.clipboard.readText()") == secret
        assert await kept_anywhere(page, secret) == []
        desk = webhook(page, "Desk alerts")
        await expect(desk.locator("dd.state")).to_have_text("Active")
        await expect(desk).to_contain_text(hooks.hook("desk"))
        await expect(desk).to_contain_text("upserts and deletions")
        await expect(deliveries(desk)).to_have_text(["None yet."])

        await hooks.setup("desk", [secret])  # the receiver verifies with the secret the page showed
        await desk.get_by_role("button", name="Send test").click()
        await expect(deliveries(desk, "test (ping)", "HTTP 200", "attempt 1")).to_have_count(1)
        pings = await hooks.until("desk", lambda got: len(got) == 1)
        assert (pings[0]["type"], pings[0]["verified"]) == ("ping", True)

        await page.get_by_role("button", name="Done with the secret").click()
        await expect(page.get_by_label("Secret", exact=True)).to_have_count(0)
        assert secret not in await page.content()  # shown once: nothing on the page holds it now

        await desk.get_by_role("button", name="Rotate secret").click()
        await expect(page.get_by_label("Secret", exact=True)).not_to_have_value(secret)
        rotated = await page.get_by_label("Secret", exact=True).input_value()
        assert _SECRET.match(rotated)
        await expect(page.get_by_role("region", name="Secret rotated")).to_contain_text("not be shown again")
        await hooks.setup("desk", [rotated])  # the new one alone
        await desk.get_by_role("button", name="Send test").click()
        await expect(deliveries(desk, "test (ping)", "HTTP 200")).to_have_count(2)
        assert [r["verified"] for r in await hooks.received("desk")] == [True, True]

        await hooks.setup("desk", [rotated], script=[500])
        seq = await publish(app, timeline_id, "Polls close")
        await expect(desk.locator("dd.state")).to_have_text("Failing: retrying")
        await expect(desk.locator("dd.last-failure")).to_contain_text("500")
        # Retries are quick here: by the time the page reads it, the count may be past the first.
        await expect(fact(desk, "Failures in a row")).to_have_text(re.compile(r"^[1-9][0-9]*$"))
        await expect(deliveries(desk, f"upsert seq {seq}", "HTTP 500").first).to_be_visible()

        await desk.get_by_role("button", name="Disable").click()
        await expect(desk.locator("dd.state")).to_have_text("Disabled: by an editor")
        await expect(desk.get_by_role("button", name="Send test")).to_have_count(0)
        await hooks.setup("desk", [rotated], script=[200])
        await desk.get_by_role("button", name="Enable").click()  # resumes from its cursor at once
        await expect(deliveries(desk, f"upsert seq {seq}", "HTTP 200")).to_have_count(1)
        await expect(desk.locator("dd.state")).to_have_text("Active")
        await expect(fact(desk, "Delivered up to")).to_have_text(f"seq {seq}")
        await no_violations(page)
        ARTIFACTS.mkdir(exist_ok=True)
        await desk.screenshot(path=ARTIFACTS / "console-webhook-1280.png")

        await desk.get_by_role("button", name="Remove").click()
        assert dialogs == [f"Remove the webhook to {hooks.hook('desk')}? Nothing more is sent to it."]
        await expect(page.locator("ul.webhooks")).to_have_text("No webhooks yet.")
        for shown in (secret, rotated):
            assert await kept_anywhere(page, shown) == []
    log = _served_log(app)
    assert secret not in log and rotated not in log and KEY not in log


async def test_a_webhook_the_api_refuses_is_explained(app: App, browser: Browser) -> None:
    _, slug = await new_timeline(app)
    async with new_page(browser) as page:
        await open_timeline(page, app, slug)
        await page.get_by_label("upsert", exact=True).uncheck()
        await page.get_by_label("delete", exact=True).uncheck()
        await page.get_by_label("Webhook URL").fill("https://hooks.example/desk")
        await page.get_by_role("button", name="Add webhook").click()
        await expect(page.get_by_role("alert")).to_have_text(
            "Choose at least one event type: upsert, delete or both."
        )
        await page.get_by_label("delete", exact=True).check()
        await page.get_by_label("Webhook URL").fill("ftp://hooks.example/desk")  # the API takes http(s) only
        await page.get_by_role("button", name="Add webhook").click()
        await expect(page.get_by_role("alert")).to_contain_text("Cannot add this webhook")
        await expect(page.locator("ul.webhooks")).to_have_text("No webhooks yet.")


async def shown_panel(app: App, hooks: ReceiverProcess, page: Page) -> None:
    """A timeline's page with a failing webhook (its deliveries listed) and a new one's secret shown."""
    timeline_id, slug = await new_timeline(app)
    name = f"looks-{next(_names)}"
    async with httpx.AsyncClient(base_url=app.url, headers=AUTH) as http:
        body: dict[str, Any] = {"url": hooks.hook(name), "events": ["upsert"], "key_events_only": True}
        created = (await http.post(f"/api/v1/timelines/{timeline_id}/webhooks", json=body)).json()
    await hooks.setup(name, [created["secret"]], script=[500])
    async with httpx.AsyncClient(base_url=app.url, headers=AUTH) as http:
        events = f"/api/v1/timelines/{timeline_id}/events"
        await http.post(events, json={"body_html": "<p>Result</p>", "key_event": True})
    await open_timeline(page, app, slug)
    failing = webhook(page, hooks.hook(name))
    await expect(failing.locator("dd.state")).to_have_text("Failing: retrying")
    await expect(fact(failing, "Sends")).to_have_text("upserts of key events only")
    await expect(deliveries(failing, "HTTP 500").first).to_be_visible()
    await add_webhook(page, hooks.hook(f"{name}-new"), "Push service")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
async def test_axe_finds_nothing_serious_in_the_panel(
    app: App, hooks: ReceiverProcess, browser: Browser, axe: Path, width: int, scheme: str
) -> None:
    viewport = {"width": width, "height": 900 if width > 400 else 844}
    async with new_page(browser, viewport=viewport, color_scheme=scheme) as page:
        await page.add_init_script(path=str(axe))
        await shown_panel(app, hooks, page)
        assert await page.evaluate(AXE_RUN, None) == []
        assert await page.evaluate("document.documentElement.scrollWidth") <= width  # nothing runs off
        ARTIFACTS.mkdir(exist_ok=True)
        panel = page.locator("section", has=page.get_by_role("heading", name="Webhooks", exact=True))
        await panel.screenshot(path=ARTIFACTS / f"console-webhooks-{width}-{scheme}.png")
        await no_violations(page)


async def test_every_control_of_the_panel_is_reached_by_the_keyboard_and_named(
    app: App, hooks: ReceiverProcess, browser: Browser
) -> None:
    async with new_page(browser) as page:
        await shown_panel(app, hooks, page)
        await expect(page.get_by_role("heading", name="Webhook added: its secret")).to_be_focused()
        controls = "a[href], button:not([hidden]), input, textarea, iframe"
        expected = await page.locator(f"main :is({controls})").count()
        reached: set[str] = set()
        for _ in range(3 * expected + 50):
            await page.keyboard.press("Tab")
            reached.add(await page.evaluate(FOCUSED))
        assert await page.evaluate(UNNAMED, controls) == [], "controls without an accessible name"
        missing = await page.evaluate(NOT_REACHED, [controls, sorted(reached)])
        assert missing == []

        # By keyboard alone: dismiss the secret, then disable; focus stays on the control pressed.
        await page.get_by_role("button", name="Done with the secret").focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_focused()
        toggle = webhook(page, "Push service").get_by_role("button", name="Disable")
        await toggle.focus()
        await page.keyboard.press("Enter")
        enable = webhook(page, "Push service").get_by_role("button", name="Enable")
        await expect(enable).to_be_focused()  # the list was drawn again; focus kept its place


def _served_log(app: App) -> str:
    folder = Path(app.database_url.removeprefix("sqlite+aiosqlite:///")).parent
    return (folder / "serve.log").read_text(errors="replace")
