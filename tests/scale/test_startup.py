"""`timeline api` and `timeline worker` start in any order: before the database exists, before
`timeline migrate` ran. They say what they wait for, and start once it is there (or give up, clearly)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from tests.postgres import admin, new_postgres_database
from tests.scale.clients import eventually
from tests.timeline.live.processes import REPO, live_env, migrated, running, server
from tests.upstream import closed_port

pytestmark = pytest.mark.postgres


async def test_api_and_worker_wait_for_the_database_and_then_for_its_schema(tmp_path: Path) -> None:
    async with new_postgres_database() as url, AsyncExitStack() as stack:
        name = make_url(url).database
        await admin(f'DROP DATABASE "{name}"')  # the processes come first; the database later
        env = live_env(url, TIMELINE_DB_WAIT="60")
        starting = [
            asyncio.create_task(stack.enter_async_context(server("api", env, tmp_path / "api.log"))),
            asyncio.create_task(stack.enter_async_context(running(["worker"], env, tmp_path / "worker.log"))),
        ]
        logs = [tmp_path / "api.log", tmp_path / "worker.log"]

        await _until_all_say(logs, f"waiting for the database at {url} (InvalidCatalogNameError")
        await admin(f'CREATE DATABASE "{name}"')
        await _until_all_say(
            logs, "run `timeline migrate` first; retrying every 2 s, up to TIMELINE_DB_WAIT=60 s"
        )
        await migrated(env)
        api, worker = await asyncio.gather(*starting)  # ready: the API answers, the worker polls

        async with httpx.AsyncClient(base_url=api.url) as http:
            assert (await http.get("/readyz")).status_code == 200
        for process in (api, worker):
            assert f"the database at {url} is ready" in process.output()


def _said(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text(errors="replace")


async def _until_all_say(logs: list[Path], text: str) -> None:
    async def said() -> bool:
        return all(_said(log, text) for log in logs)

    await eventually(said, f"{text!r} in every log", timeout=30)


@pytest.mark.parametrize("command", ["api", "worker"])
def test_they_give_up_after_timeline_db_wait_naming_the_database_and_the_reason(command: str) -> None:
    url = f"postgresql+asyncpg://timeline:secret@127.0.0.1:{closed_port()}/news"
    env = live_env(url, TIMELINE_DB_WAIT="1")
    done = subprocess.run(
        [sys.executable, "-m", "timeline", command],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=False,
    )
    said = done.stderr.decode()
    assert done.returncode == 1, said
    masked = url.replace(":secret@", ":***@")
    assert f"waiting for the database at {masked} (ConnectionRefusedError" in said
    assert "secret" not in said
    last = said.strip().splitlines()[-1]
    assert last.startswith(f"timeline: gave up waiting for the database at {masked} (ConnectionRefusedError")
    assert last.endswith("after TIMELINE_DB_WAIT=1 s")
