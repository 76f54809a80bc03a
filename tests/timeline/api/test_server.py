"""The API as operators run it: `timeline api` and `timeline serve` as real processes on a free port."""

from __future__ import annotations

import asyncio
import re
import signal
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.timeline.api.support import AUTH, KEY, LiveBlog, environment
from tests.upstream import Upstream, closed_port

STARTUP_ATTEMPTS = 600  # × 50 ms: generous, a slow machine must not fail this


@dataclass
class Server:
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text()


async def timeline_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "timeline", *args]
    return await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, check=False)


@asynccontextmanager
async def server(command: str, env: dict[str, str], log: Path) -> AsyncIterator[Server]:
    """`timeline COMMAND --port FREE`, once it answers /healthz; stopped by SIGTERM, taken cleanly.

    After a graceful shutdown uvicorn re-raises the signal it caught, so a clean exit is 0 or -SIGTERM.
    """
    port = closed_port()
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "timeline", command, "--port", str(port),
            env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    running = Server(f"http://127.0.0.1:{port}", log)
    try:
        await _until_healthy(running, process)
        yield running
    finally:
        if process.returncode is None:
            process.terminate()
        returncode = await process.wait()
    assert returncode in (0, -signal.SIGTERM), running.output()
    assert "Traceback" not in running.output() and "ERROR" not in running.output()


async def _until_healthy(running: Server, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient(base_url=running.url) as http:
        for _ in range(STARTUP_ATTEMPTS):
            if process.returncode is not None:
                raise AssertionError(f"the server exited with {process.returncode}:\n{running.output()}")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"the server never answered /healthz:\n{running.output()}")


async def walk_links(http: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    """Every event, following `Link: <…>; rel="next"` from `url`."""
    events: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = await http.get(next_url)
        assert response.status_code == 200, response.text
        events += response.json()["events"]
        found = re.search(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
        next_url = found.group(1) if found else None
    return events


async def test_api_process_end_to_end(tmp_path: Path) -> None:
    env = environment(tmp_path / "api.db", TIMELINE_API_KEYS=KEY, TIMELINE_ALLOW_PRIVATE_SOURCES="1")
    migrated = await timeline_command("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    blog = LiveBlog()
    for minute in range(5):
        blog.post(f"b{minute}", f"Update {minute}", minute=minute, key_event=minute == 2)

    async with (
        Upstream(routes={"/blog": blog.route()}) as upstream,
        server("api", env, tmp_path / "api.log") as api,
        httpx.AsyncClient(base_url=api.url, headers=AUTH) as http,
    ):
        created = await http.post("/api/v1/timelines", json={"title": "Election night"})
        assert created.status_code == 201, created.text
        slug = created.json()["slug"]
        added = await http.post(f"/api/v1/timelines/{slug}/sources", json={"url": upstream.url("/blog")})
        assert added.status_code == 201, added.text
        assert added.json()["first_poll"] == {"new": 5, "updated": 0, "deleted": 0}

        newest_first = await walk_links(http, f"/api/v1/timelines/{slug}/events?limit=2")
        oldest_first = await walk_links(http, f"/api/v1/timelines/{slug}/events?limit=2&order=asc")
        assert [e["body_text"] for e in newest_first] == [f"Update {n}" for n in (4, 3, 2, 1, 0)]
        assert oldest_first == newest_first[::-1]

        blog.post("b9", "Breaking", minute=9)
        blog.edit("b0", "Update 0, corrected")
        blog.delete("b1")
        polled = await http.post(f"/api/v1/timelines/{slug}/sources/{added.json()['id']}/poll")
        assert (polled.status_code, polled.json()) == (200, {"new": 1, "updated": 1, "deleted": 1})

        page = await http.get(f"/api/v1/timelines/{slug}/events", params={"order": "asc"})
        texts = [e["body_text"] for e in page.json()["events"]]
        assert texts == ["Update 0, corrected", "Update 2", "Update 3", "Update 4", "Breaking"]
        again = await http.get(
            f"/api/v1/timelines/{slug}/events",
            params={"order": "asc"},
            headers={"If-None-Match": page.headers["etag"]},
        )
        assert (again.status_code, again.content) == (304, b"")
        refused = await http.post("/api/v1/timelines", json={"title": "x"}, headers={"Authorization": ""})
        assert refused.status_code == 401

    assert f"Serving {api.url}/api/v1/timelines" in api.output()
    assert f"Console: {api.url}/admin (sign in with a key from TIMELINE_API_KEYS)" in api.output()


async def test_serve_makes_a_key_once_and_keeps_it(tmp_path: Path) -> None:
    env = environment(tmp_path / "serve.db")
    key_file = tmp_path / "serve.key"

    async with server("serve", env, tmp_path / "first.log") as first:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert key and key in first.output() and "Created an API key" in first.output()
        assert f"Console: {first.url}/admin (sign in with the key above)" in first.output()
        await _writes_need(first, key)
        await _root_leads_to_the_console(first)

    async with server("serve", env, tmp_path / "second.log") as second:
        assert key_file.read_text().strip() == key
        assert f"Using the API key saved in {key_file}" in second.output()
        assert "Created an API key" not in second.output()
        assert f"Console: {second.url}/admin (sign in with the key in {key_file})" in second.output()
        await _writes_need(second, key)


async def _root_leads_to_the_console(running: Server) -> None:
    async with httpx.AsyncClient(base_url=running.url) as http:
        root = await http.get("/")
        console = await http.get(root.headers["location"])
    assert (root.status_code, root.headers["location"]) == (302, "/admin")
    assert console.status_code == 200 and "<title>Console" in console.text
    assert "frame-ancestors 'none'" in console.headers["content-security-policy"]


async def _writes_need(running: Server, key: str) -> None:
    async with httpx.AsyncClient(base_url=running.url) as http:
        body = {"title": "Keyed"}
        missing = await http.post("/api/v1/timelines", json=body)
        wrong = await http.post("/api/v1/timelines", json=body, headers={"Authorization": "Bearer nope"})
        right = await http.post("/api/v1/timelines", json=body, headers={"Authorization": f"Bearer {key}"})
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 403, 201)
