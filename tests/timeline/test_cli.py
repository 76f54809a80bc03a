"""The `timeline` command as a user runs it: real processes, real files, a real local upstream."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.upstream import Upstream, closed_port, respond

GUARDIAN = "guardian_capi_liveblog_clockwatch_2023-12-23_first12blocks.json"
EVENT_FIELDS = {
    "id", "source_id", "upstream_id", "url", "published_at", "time_estimated", "updated_at", "title",
    "summary", "body_html", "body_text", "key_event", "pinned", "authors", "tags", "media", "position",
    "deleted",
}  # fmt: skip


def timeline(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "timeline", *args]
    return subprocess.run(
        command, input=stdin, capture_output=True, env={**os.environ, **(env or {})}, check=False
    )


def lines(output: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in output.splitlines()]


@pytest.mark.parametrize(
    ("name", "count", "summary"),
    [
        (GUARDIAN, 12, "12 events (3 key, 0 pinned) from guardian"),
        (
            "html_jsonld_timesofindia_ipl2020_liveblog_HEAD_ONLY.html",
            8,
            "8 events (0 key, 0 pinned) from jsonld",
        ),
        ("html_jsonld_schemaorg_eg-0424_liveblogposting.html", 3, "3 events (0 key, 0 pinned) from jsonld"),
        ("rss_bbc_urdu_cdata_rtl.xml", 26, "26 events (0 key, 0 pinned) from syndication"),
        ("atom_github_commits.xml", 20, "20 events (0 key, 0 pinned) from syndication"),
        ("jsonfeed_1.1_spec_simple_example.json", 2, "2 events (0 key, 0 pinned) from syndication"),
        ("wordpress_liveblog_key_events.json", 1, "1 event (1 key, 0 pinned) from wordpress"),
    ],
)
def test_poll_prints_events_oldest_first(fixtures_dir: Path, name: str, count: int, summary: str) -> None:
    result = timeline("poll", str(fixtures_dir / name))

    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    assert len(events) == count
    assert all(set(event) == EVENT_FIELDS for event in events)
    times = [str(event["published_at"]) for event in events]
    assert times == sorted(times) and all(t.endswith("Z") for t in times)
    assert result.stderr.decode().strip().splitlines()[-1] == summary


def test_poll_reads_stdin_and_gives_stable_ids(fixture_bytes: Callable[[str], bytes]) -> None:
    first, second = (timeline("poll", "-", stdin=fixture_bytes(GUARDIAN)) for _ in range(2))
    assert first.returncode == 0
    assert [e["id"] for e in lines(first.stdout)] == [e["id"] for e in lines(second.stdout)]


def test_poll_exits_2_on_input_it_cannot_parse() -> None:
    result = timeline("poll", "-", stdin=b"\x00\x01 not a live blog")
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"the format was not recognised; supported formats" in result.stderr


def test_poll_exits_2_on_a_missing_file(tmp_path: Path) -> None:
    result = timeline("poll", str(tmp_path / "missing.json"))
    assert (result.returncode, result.stderr.count(b"\n")) == (2, 1)
    assert b"no such file" in result.stderr


def test_poll_exits_3_on_fetch_errors() -> None:
    refused = timeline("poll", f"http://127.0.0.1:{closed_port()}/blog")
    assert refused.returncode == 3
    assert b"set TIMELINE_ALLOW_PRIVATE_SOURCES=1" in refused.stderr
    assert refused.stderr.count(b"\n") == 1

    unreachable = timeline(
        "poll", f"http://127.0.0.1:{closed_port()}/blog", env={"TIMELINE_ALLOW_PRIVATE_SOURCES": "1"}
    )
    assert unreachable.returncode == 3
    assert b"could not connect to 127.0.0.1" in unreachable.stderr


def test_poll_refuses_an_adapter_that_does_not_fit(fixtures_dir: Path) -> None:
    result = timeline("poll", str(fixtures_dir / "atom_rfc4287_example.xml"), "--adapter", "guardian")
    assert result.returncode == 2
    assert b"expected a Guardian Content API item" in result.stderr


async def test_ingest_over_http_keeps_edits(tmp_path: Path, fixture_bytes: Callable[[str], bytes]) -> None:
    env = {
        "TIMELINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "TIMELINE_ALLOW_PRIVATE_SOURCES": "1",
    }
    original = fixture_bytes(GUARDIAN)
    edited = original.replace(
        b"GOAL! Nottm Forest 2-3 Bournemouth", b"GOAL! Nottm Forest 2-3 Bournemouth (edited)"
    )
    assert edited != original
    async with Upstream(
        routes={"/blog": respond("200 OK", {"Content-Type": "application/json"}, original)}
    ) as up:
        runs = [await _ingest(up.url("/blog"), env)]
        runs.append(await _ingest(up.url("/blog"), env))
        up.routes["/blog"] = respond("200 OK", {"Content-Type": "application/json"}, edited)
        runs.append(await _ingest(up.url("/blog"), env))

    assert runs == ["new=12 updated=0 deleted=0", "new=0 updated=0 deleted=0", "new=0 updated=1 deleted=0"]


async def _ingest(url: str, env: dict[str, str]) -> str:
    """Run `timeline ingest` without blocking the event loop that serves the upstream."""
    result = await asyncio.to_thread(timeline, "ingest", url, "--timeline", "clockwatch", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().strip()
