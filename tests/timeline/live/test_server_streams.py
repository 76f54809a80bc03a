"""Streams as a server process holds them: a limit per process, keep-alives while idle, and an end to
every open stream as soon as the server is told to stop."""

from __future__ import annotations

import signal
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from tests.timeline.api.support import AUTH, assert_problem
from tests.timeline.live.processes import Process, live_env, migrated, server
from tests.timeline.live.sse import listen


async def _timeline(api: Process) -> str:
    async with httpx.AsyncClient(base_url=api.url, headers=AUTH) as http:
        created = await http.post("/api/v1/timelines", json={"title": "Election night"})
    assert created.status_code == 201, created.text
    slug: str = created.json()["slug"]
    return slug


async def test_streams_beyond_the_limit_are_refused_with_503_and_retry_after(
    tmp_path: Path, sqlite_url: str
) -> None:
    env = live_env(sqlite_url, TIMELINE_MAX_STREAMS="2")
    async with server("serve", env, tmp_path / "serve.log") as api, AsyncExitStack() as streams:
        slug = await _timeline(api)
        first = await streams.enter_async_context(listen(api.url, slug))
        await streams.enter_async_context(listen(api.url, slug))
        async with httpx.AsyncClient(base_url=api.url) as http:
            refused = await http.get(f"/api/v1/timelines/{slug}/stream")
        assert_problem(refused, 503, "too_many_streams")
        assert int(refused.headers["retry-after"]) > 0

        await first.response.aclose()  # a client leaves: its place is free again
        await api.until_metric("timeline_sse_clients", 1)
        await streams.enter_async_context(listen(api.url, slug))


async def test_an_idle_stream_gets_keep_alive_comments(tmp_path: Path, sqlite_url: str) -> None:
    env = {**live_env(sqlite_url), "LIVE_TEST_PING_EVERY": "0.2"}
    async with (
        server("serve", env, tmp_path / "serve.log", module="tests.timeline.live.launch") as api,
        listen(api.url, await _timeline(api)) as client,
    ):
        await client.until(lambda: client.parser.comments.count("ping") >= 3, "three pings")
        assert client.messages == []


@pytest.mark.parametrize(
    ("command", "signum"),
    [("serve", signal.SIGINT), ("api", signal.SIGTERM)],
    ids=["serve-SIGINT", "api-SIGTERM"],
)
async def test_stopping_the_server_ends_its_open_streams(
    tmp_path: Path, sqlite_url: str, command: str, signum: int
) -> None:
    env = live_env(sqlite_url)
    if command == "api":
        await migrated(env)
    async with server(command, env, tmp_path / f"{command}.log") as api:
        slug = await _timeline(api)
        async with listen(api.url, slug) as one, listen(api.url, slug) as two:
            await api.stop(signum)
            await one.until_end()
            await two.until_end()
            # Finished by the server as it began to stop, not cut off when its grace period ran out.
            assert one.ended_cleanly and two.ended_cleanly
