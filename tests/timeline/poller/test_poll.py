"""Polls as a reader sees them: live blogs change upstream, the timeline follows within one interval."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from tests.timeline.poller.conftest import SCHEDULE, Rig, written_tables
from tests.upstream import GuardianBlog, WordPressBlog, etag_of, script, snapshot

GUARDIAN = "guardian_capi_liveblog_clockwatch_2023-12-23_first12blocks.json"
LAST_MODIFIED = "Wed, 01 May 2024 12:00:00 GMT"
STEP = 1.0  # fake seconds between ticks
MAX_WAIT = 7200  # ticks; far more than any interval


async def wait_until_shown(rig: Rig, upstream_id: str) -> float:
    """Tick every `STEP` fake seconds until the event shows; the fake seconds that took."""
    started = rig.clock()
    for _ in range(MAX_WAIT):
        await rig.poll(after=STEP)
        if upstream_id in await rig.texts():
            return (rig.clock() - started).total_seconds()
    raise AssertionError(f"{upstream_id} never showed")


async def test_a_new_update_shows_within_one_interval(rig: Rig) -> None:
    blog = GuardianBlog()
    blog.post("b1", "Polls open", minute=0)
    await rig.add("/blog", snapshot(blog.render), "guardian")
    await rig.poll()
    assert await rig.texts() == {"b1": "Polls open"}

    for n in range(2, 7):
        if n == 4:  # a quiet spell first: the interval grows, and the promise still holds
            for _ in range(3):
                await rig.poll_next()
        health = (await rig.source("/blog")).health
        blog.post(f"b{n}", f"Update {n}", minute=n)
        before = len(rig.upstream.served("/blog"))

        waited = await wait_until_shown(rig, f"b{n}")

        assert health.interval_seconds is not None
        assert waited <= health.interval_seconds * (1 + SCHEDULE.jitter) + STEP
        assert len(rig.upstream.served("/blog")) == before + 1  # and not polled any sooner
    assert await rig.texts() == blog.texts()
    assert (await rig.source("/blog")).health.status == "ok"


async def test_an_edit_bumps_the_revision_and_keeps_the_old_one(rig: Rig) -> None:
    blog = GuardianBlog()
    blog.post("b1", "Polls open", minute=0)
    blog.post("b2", "First exit poll", minute=10)
    await rig.add("/blog", snapshot(blog.render), "guardian")
    await rig.poll()
    seq = await rig.last_seq()

    blog.edit("b1", "Polls open at 7am")
    await rig.poll_next()

    edited = (await rig.events())["b1"]
    assert (edited.revision, edited.body_text, edited.seq) == (2, "Polls open at 7am", seq + 1)
    assert (await rig.events())["b2"].revision == 1
    history = await rig.store.revisions(rig.timeline.id, edited.id)
    assert [(r.revision, r.body_text) for r in history] == [(1, "Polls open"), (2, "Polls open at 7am")]


@pytest.mark.parametrize("blog_type", [GuardianBlog, WordPressBlog])
async def test_a_deletion_the_format_states_becomes_a_tombstone(
    rig: Rig, blog_type: type[GuardianBlog] | type[WordPressBlog]
) -> None:
    """Guardian: a block missing from a complete snapshot. WordPress: an entry of `type: delete`."""
    blog = blog_type()
    for n in (1, 2, 3):
        blog.post(str(n), f"Update {n}", minute=n)
    await rig.add("/blog", snapshot(blog.render))
    await rig.poll()
    seq = await rig.last_seq()

    blog.delete("2")
    await rig.poll_next()

    gone = (await rig.events(deleted=True))["2"]
    assert (gone.deleted, gone.seq, gone.revision) == (True, seq + 1, 1)
    assert await rig.texts() == {"1": "Update 1", "3": "Update 3"}
    (change,) = await rig.store.changes(rig.timeline.id, since=seq)
    assert (change.kind, change.event.id) == ("delete", gone.id)


async def test_entries_leaving_an_incremental_window_are_not_deleted(rig: Rig) -> None:
    blog = WordPressBlog(window=2)
    blog.post("1", "Polls open", minute=0)
    blog.post("2", "First exit poll", minute=10)
    await rig.add("/wp", snapshot(blog.render))
    await rig.poll()

    blog.post("3", "Turnout high", minute=20)
    blog.edit("2", "First exit poll: a tie")
    await rig.poll_next()

    assert await rig.texts() == {"1": "Polls open", "2": "First exit poll: a tie", "3": "Turnout high"}
    assert b'"id":"1"' not in blog.render()  # the upstream no longer lists it; we keep it


async def test_a_shared_fixture_then_an_edit_of_it(rig: Rig, fixture_bytes: Callable[[str], bytes]) -> None:
    original = fixture_bytes(GUARDIAN)
    edited = original.replace(
        b"GOAL! Nottm Forest 2-3 Bournemouth", b"GOAL! Nottm Forest 2-3 Bournemouth (VAR)"
    )
    assert edited != original
    await rig.add("/clockwatch", script(snapshot(original), snapshot(edited)), "guardian")

    await rig.poll()
    assert len(await rig.events()) == 12
    await rig.poll_next()
    await rig.poll_next()

    revised = [e for e in (await rig.events()).values() if e.revision == 2]
    assert len(revised) == 1 and "(VAR)" in (revised[0].title or "")
    assert rig.upstream.statuses("/clockwatch") == [200, 200, 304]


@pytest.mark.parametrize("validator", ["etag", "last-modified", "none"])
async def test_an_unchanged_source_costs_a_conditional_request_and_nothing_else(
    rig: Rig, validator: str
) -> None:
    """304 to If-None-Match or If-Modified-Since; without validators the same bytes short-circuit on their
    hash. Either way: no parse, no event written, no seq; only the source's poll state is saved."""
    blog = GuardianBlog()
    blog.post("b1", "Polls open", minute=0)
    route = snapshot(
        blog.render,
        etag=validator == "etag",
        last_modified=LAST_MODIFIED if validator == "last-modified" else None,
    )
    await rig.add("/blog", route, "guardian")
    await rig.poll()
    parses, seq = rig.reader.parses, await rig.last_seq()

    with written_tables(rig.store) as written:
        for _ in range(3):
            assert await rig.poll_next() == 1

    repolls = rig.upstream.served("/blog")[1:]
    sent = [
        (e.request.headers.get("if-none-match"), e.request.headers.get("if-modified-since")) for e in repolls
    ]
    expected = {
        "etag": ((etag_of(blog.render()), None), 304),
        "last-modified": ((None, LAST_MODIFIED), 304),
        "none": ((None, None), 200),
    }[validator]
    assert sent == [expected[0]] * 3
    assert [e.status for e in repolls] == [expected[1]] * 3
    assert rig.reader.parses == parses
    assert await rig.last_seq() == seq
    assert set(written) == {"sources"}  # the lease and the poll state, nothing else
    assert (await rig.source("/blog")).health.status == "ok"


async def test_new_bytes_with_the_same_updates_write_nothing(rig: Rig) -> None:
    blog = GuardianBlog()
    blog.post("b1", "Polls open", minute=0)
    served = itertools.count()

    def render() -> bytes:  # a volatile field changes every response, as CDNs' timestamps do
        return blog.render()[:-1] + b',"servedAt":%d}' % next(served)

    await rig.add("/blog", snapshot(render), "guardian")
    await rig.poll()
    seq = await rig.last_seq()

    with written_tables(rig.store) as written:
        await rig.poll_next()

    assert rig.upstream.statuses("/blog") == [200, 200] and rig.reader.parses == 2
    assert await rig.last_seq() == seq
    assert set(written) == {"sources"}


async def test_a_blog_that_ends_drops_to_hourly_polls(rig: Rig) -> None:
    blog = GuardianBlog()
    blog.post("b1", "Polls open", minute=0)
    await rig.add("/blog", snapshot(blog.render), "guardian")
    await rig.poll()

    blog.live = False
    blog.post("b2", "That's all for tonight", minute=300)
    await rig.poll_next()

    health = (await rig.source("/blog")).health
    assert health.status == "ended" and health.interval_seconds == SCHEDULE.ended_interval
    assert await rig.texts() == {"b1": "Polls open", "b2": "That's all for tonight"}
