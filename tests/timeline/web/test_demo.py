"""`timeline demo`: the bundled blog replayed step by step, and the whole demo as a real process."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.timeline.live.processes import START_WAIT, running
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
