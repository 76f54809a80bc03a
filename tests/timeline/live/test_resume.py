"""Resuming a stream by seq against a real `timeline api` process.

The writer is this test process. On SQLite it cannot notify the server: changes reach it by the fan-out's
once-a-second check of `last_seq`. On PostgreSQL it publishes through the `postgres` hub.
"""

from __future__ import annotations

from pathlib import Path

from tests.timeline.live.processes import live_env, server
from tests.timeline.live.sse import Stream, listen
from tests.timeline.live.writer import Writer, Written, seen, writing


async def test_reconnect_with_last_event_id_gets_exactly_the_missed_changes_then_live_ones(
    tmp_path: Path, database_url: str
) -> None:
    env = live_env(database_url, TIMELINE_HUB="postgres" if "postgresql" in database_url else "memory")
    async with writing(database_url) as writer, server("api", env, tmp_path / "api.log") as api:
        before = await writer.post_many([f"e{n}" for n in range(30)], "Update")
        async with listen(api.url, writer.timeline_id, since=0) as first:
            assert seen(await first.until_count(30)) == before
            live = await writer.post("e30", "While connected")
            await first.until_count(31)
            assert seen(first.messages[30:]) == [live]
            last_id = first.last_id
        assert last_id == str(live.seq)

        missed = await _fifty_changes(writer)
        async with (
            listen(api.url, writer.timeline_id, last_event_id=last_id) as by_header,
            listen(api.url, writer.timeline_id, since=int(last_id)) as by_query,
        ):
            for client in (by_header, by_query):
                assert seen(await client.until_count(50)) == missed
            later = [await writer.post("e3", "Corrected again"), await writer.delete("e30")]
            for client in (by_header, by_query):
                await client.until_count(52)
                assert seen(client.messages) == missed + later
                _assert_frames_well_formed(client)


async def _fifty_changes(writer: Writer) -> list[Written]:
    """Fifty changes to fifty different events, one transaction each: 20 new, 20 edits, 10 deletions."""
    changes: list[Written] = []
    for n in range(10):
        changes.append(await writer.post(f"n{n}", f"New {n}"))
        changes.append(await writer.post(f"e{n}", f"Update {n}, corrected"))
        changes.append(await writer.delete(f"e{n + 10}"))
        changes.append(await writer.post(f"n{n + 10}", f"New {n + 10}"))
        changes.append(await writer.post(f"e{n + 20}", f"Update {n + 20}, corrected"))
    assert len(changes) == len({c.event_id for c in changes}) == 50
    return changes


def _assert_frames_well_formed(client: Stream) -> None:
    """`id:` is the event's seq, `event:` says whether it is deleted, and `retry:` came first."""
    assert client.parser.retry is not None and client.parser.retry > 0
    for message in client.messages:
        event = message.json()
        assert event["seq"] == message.seq
        assert event["deleted"] == (message.event == "delete")
        assert ("timeline_id" in event) != event["deleted"]  # a deletion carries no content
