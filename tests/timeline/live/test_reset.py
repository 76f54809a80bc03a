"""`event: reset` against a real `timeline api` process: a reader whose seq the timeline no longer has
(a restored database, a timeline re-created under the same slug) is told so, and goes on live."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from tests.timeline.live.processes import live_env, server
from tests.timeline.live.sse import Message, Stream, listen
from tests.timeline.live.writer import Writer, seen, writing


def _file(sqlite_url: str) -> str:
    return sqlite_url.removeprefix("sqlite+aiosqlite:///")


def _assert_reset(message: Message, last_seq: int) -> None:
    assert (message.event, message.id) == ("reset", str(last_seq))
    assert orjson.loads(message.data) == {"last_seq": last_seq}


async def _live_after_reset(client: Stream, writer: Writer, count: int) -> None:
    """The next change arrives on the same stream, after the reset."""
    posted = await writer.post("after-reset", "Live again")
    await client.until_count(count + 1)
    assert seen(client.messages[count:]) == [posted]


async def test_a_stream_resumed_past_the_timelines_seq_is_reset_then_live(
    tmp_path: Path, database_url: str
) -> None:
    env = live_env(database_url, TIMELINE_HUB="postgres" if "postgresql" in database_url else "memory")
    async with writing(database_url) as writer, server("api", env, tmp_path / "api.log") as api:
        last_seq = (await writer.post_many(["a", "b"], "Update"))[-1].seq
        ahead = str(last_seq + 1000)
        async with (
            listen(api.url, writer.timeline_id, last_event_id=ahead) as by_header,
            listen(api.url, writer.timeline_id, since=last_seq + 1000) as by_query,
            listen(api.url, writer.timeline_id, since=last_seq) as current,
        ):
            for client in (by_header, by_query):
                _assert_reset((await client.until_count(1))[0], last_seq)
            posted = await writer.post("c", "Live")
            for client in (by_header, by_query):
                await client.until_count(2)
                assert seen(client.messages[1:]) == [posted]
            await current.until_count(1)
            assert seen(current.messages) == [posted]  # a seq the timeline has: no reset


async def test_readers_are_reset_when_the_database_is_restored_under_them(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with (
        writing(sqlite_url) as writer,
        server("api", live_env(sqlite_url), tmp_path / "api.log") as api,
    ):
        restored_seq = (await writer.post_many(["a", "b"], "Update"))[-1].seq
        backup = tmp_path / "backup.db"
        _copy(_file(sqlite_url), str(backup))
        later = await writer.post_many(["c", "d", "e"], "Later")
        async with listen(api.url, writer.timeline_id, since=later[-1].seq) as client:
            _copy(str(backup), _file(sqlite_url))  # the backup taken before "c", "d" and "e"
            _assert_reset((await client.until_count(1))[0], restored_seq)
            await _live_after_reset(client, writer, 1)


async def test_streams_of_a_deleted_timeline_end_and_its_successor_resets_them(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with (
        writing(sqlite_url) as writer,
        server("api", live_env(sqlite_url), tmp_path / "api.log") as api,
    ):
        slug = (await writer.store.get_timeline(writer.timeline_id)).slug
        seq = (await writer.post_many(["a", "b"], "Update"))[-1].seq
        async with listen(api.url, slug, since=seq) as client:
            await writer.store.delete_timeline(writer.timeline_id)
            await client.until_end()
        successor = await writer.store.create_timeline("Election night", slug=slug)
        async with listen(api.url, slug, last_event_id=str(seq)) as again:
            _assert_reset((await again.until_count(1))[0], 0)
            assert successor.last_seq == 0


def _copy(source: str, target: str) -> None:
    """SQLite's online backup: what restoring a database under a running server looks like."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
