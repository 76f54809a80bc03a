"""A real Chromium for browser tests: one browser per session, a fresh context and page per test.

Playwright objects belong to the event loop that made them, so every async test that uses `browser`
(`browser_page` does) runs in the session's loop: its own async fixtures need `loop_scope="session"`
too, or the servers they start are never served while the test runs. Debian's `chromium` is driven
through `executable_path`; without it the tests skip, except under CI, which installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect
from pytest_asyncio import is_async_test

from tests.upstream import Upstream, respond

CHROMIUM = Path(os.environ.get("TIMELINE_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"  # tests/artifacts, gitignored
WAIT_MS = 30_000  # generous: a slow, shared machine must not fail a browser wait
expect.set_options(timeout=WAIT_MS)
# axe-core runs as a tool from the npm registry, installed here (gitignored) by .ci/run or on first use.
NODE = Path(__file__).resolve().parent / ".node"
AXE = NODE / "node_modules" / "axe-core" / "axe.min.js"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if is_async_test(item) and "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(session_loop, append=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="session")
def axe() -> Path:
    """axe-core's browser script, installed from npm when missing (skipped without npm, unless CI)."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            if os.environ.get("CI"):
                pytest.fail("npm is missing; .ci/run installs axe-core with it")
            pytest.skip("no npm to install axe-core with (apt-get install npm)")
        command = [
            npm,
            "install",
            "--prefix",
            str(NODE),
            "--no-save",
            "--no-audit",
            "--no-fund",
            "axe-core@4",
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
    return AXE


# Serious and critical violations, as "rule: target" lines; axe was loaded into the page by an init script.
AXE_RUN = """async (context) => {
  const { violations } = await axe.run(context ?? document, { resultTypes: ['violations'] });
  return violations.filter((v) => ['serious', 'critical'].includes(v.impact))
    .flatMap((v) => v.nodes.map((node) => `${v.id}: ${JSON.stringify(node.target)}`));
}"""


@asynccontextmanager
async def new_page(browser: Browser, **context: Any) -> AsyncIterator[Page]:
    """A page in a context of its own (storage, locale, zone); fails the test on any uncaught page error.

    Defaults: en-GB, UTC, 900×900; `context` overrides them (Playwright `new_context` options).
    """
    options = {"locale": "en-GB", "timezone_id": "UTC", "viewport": {"width": 900, "height": 900}}
    opened = await browser.new_context(**{**options, **context})
    opened.set_default_timeout(WAIT_MS)
    page = await opened.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        await opened.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest_asyncio.fixture(loop_scope="session")
async def browser_page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh page (en-GB, UTC) in its own browser context."""
    async with new_page(browser) as page:
        yield page


@pytest_asyncio.fixture(loop_scope="session")
async def host_server() -> AsyncIterator[Upstream]:
    """Another origin (127.0.0.1, its own port) to serve host pages from: add routes with `host_page`."""
    async with Upstream() as server:
        yield server


def host_page(body: str, *, app: str, css: str = "", lang: str = "en") -> dict[str, Any]:
    """Routes of a host page with a strict CSP: scripts and connections to `app` only, styles from its
    own origin only (no inline styles or scripts), and every CSP violation kept in `window.violations`.

    The page is `/`, its stylesheet `/host.css`; `body` goes inside `<body>`; `lang` is the page's (none
    when empty).
    """
    csp = (
        f"default-src 'none'; script-src {app}; connect-src {app}; style-src 'self'; "
        "img-src 'self' https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    html = (
        f'<!doctype html><html{f" lang={lang!r}" if lang else ""}><head><meta charset="utf-8">'
        "<title>Host page</title>"
        '<link rel="stylesheet" href="/host.css">'
        f'<script type="module" src="{app}/widget.js"></script></head><body>{body}</body></html>'
    )
    headers = {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp}
    return {
        "/": respond("200 OK", headers, html.encode()),
        "/host.css": respond("200 OK", {"Content-Type": "text/css"}, css.encode()),
    }


# Collects CSP violations from the first moment of every document (init scripts are not subject to CSP).
WATCH_VIOLATIONS = """
window.violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""
