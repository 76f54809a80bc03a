"""Polls of an upstream that misbehaves: a complete list that suddenly leaves out most updates (held until
confirmed, even when the same bytes come back), and edge caches serving two versions in turn (damped)."""

from __future__ import annotations

import itertools

import pytest

from tests.timeline.poller.conftest import Rig, poller_settings
from tests.upstream import GuardianBlog, respond, script, snapshot
from timeline.poller.schedule import ScheduleSettings
from timeline.store import ApplyPolicy

BLOCKS = 10


@pytest.fixture
def blog() -> GuardianBlog:
    live = GuardianBlog()
    for n in range(BLOCKS):
        live.post(f"b{n}", f"Update {n}", minute=n)
    return live


@pytest.mark.parametrize("kept", [0, 1], ids=["empty", "10 %"])
async def test_a_complete_list_that_drops_most_updates_is_held_until_confirmed(
    rig: Rig, blog: GuardianBlog, kept: int
) -> None:
    await rig.add("/blog", snapshot(blog.render), "guardian")
    await rig.poll()
    whole = await rig.texts()
    seq = await rig.last_seq()
    for n in range(kept, BLOCKS):
        blog.delete(f"b{n}")
    blog.post("b-new", "A new update", minute=30)  # new updates still apply while deletions wait

    await rig.poll_next()
    assert await rig.texts() == {**whole, "b-new": "A new update"}
    assert await rig.last_seq() == seq + 1
    held = (await rig.source("/blog")).health.held_deletions
    assert held is not None and (held.listed, held.live, held.seen) == (kept + 1, BLOCKS, 1)
    assert held.message == f"deletions held: upstream lists {kept + 1} of {BLOCKS} updates"

    # The same bytes again: read anyway (no validators, no body hash while held), and counted.
    await rig.poll_next()
    held = (await rig.source("/blog")).health.held_deletions
    assert held is not None and held.seen == 2
    assert len(rig.upstream.statuses("/blog")) == 3 and set(rig.upstream.statuses("/blog")) == {200}
    assert len(await rig.texts()) == BLOCKS + 1

    # A third sighting confirms once two minutes have passed since the first.
    while (rig.clock() - held.since).total_seconds() < 120:
        await rig.poll_next()
    assert await rig.texts() == blog.texts()
    assert (await rig.source("/blog")).health.held_deletions is None
    deleted = [e for e in (await rig.events(deleted=True)).values() if e.deleted]
    assert len(deleted) == BLOCKS - kept


async def test_a_list_that_comes_back_clears_the_hold_and_deletes_nothing(
    rig: Rig, blog: GuardianBlog
) -> None:
    await rig.add("/blog", snapshot(blog.render), "guardian")
    await rig.poll()
    whole = await rig.texts()
    blocks = dict(blog.blocks)
    blog.blocks.clear()  # a glitch: the CMS serves an empty blog once
    await rig.poll_next()
    assert (await rig.source("/blog")).health.held_deletions is not None

    blog.blocks.update(blocks)
    await rig.poll_next()
    assert await rig.texts() == whole
    assert (await rig.source("/blog")).health.held_deletions is None
    assert not [e for e in (await rig.events(deleted=True)).values() if e.deleted]


FLOOR = ScheduleSettings(base_interval=10.0, min_interval=10.0, max_interval=10.0)


@pytest.mark.parametrize("settings", [poller_settings(FLOOR)])
async def test_an_upstream_flapping_between_two_versions_makes_at_most_one_more_revision(
    rig: Rig, blog: GuardianBlog
) -> None:
    """Edge caches out of step: every other answer is the version before the edit. Polled at the 10 s
    floor for 50 polls; then the stale version alone, for good, after the window: a revert after all."""
    old = blog.render()
    blog.edit("b3", "Update 3, corrected")
    new = blog.render()
    answers = itertools.count()
    await rig.add("/blog", snapshot(lambda: (old, new)[next(answers) % 2]), "guardian")
    for _ in range(50):
        await rig.poll_next()

    event = (await rig.events())["b3"]
    history = await rig.store.revisions(rig.timeline.id, event.id)
    assert [r.body_text for r in history] == ["Update 3", "Update 3, corrected"]

    answers = itertools.count(0, 2)  # only the old version from now on
    rig.clock.advance(ApplyPolicy().flap_window)
    await rig.poll_next()
    history = await rig.store.revisions(rig.timeline.id, event.id)
    assert [r.body_text for r in history] == ["Update 3", "Update 3, corrected", "Update 3"]


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>Busy</body></html>",
        b'{"response": {"status": "error", "message": "The requested resource could not be found."}}',
        b"",
    ],
    ids=["html error page", "error json", "empty body"],
)
async def test_an_error_served_with_200_is_a_failed_poll_not_an_empty_blog(
    rig: Rig, blog: GuardianBlog, body: bytes
) -> None:
    await rig.add("/blog", script(snapshot(blog.render), respond("200 OK", {}, body)), "guardian")
    await rig.poll()
    whole, seq = await rig.texts(), await rig.last_seq()

    await rig.poll_next()

    health = (await rig.source("/blog")).health
    assert health.status == "failing" and health.last_error is not None
    assert health.last_error.kind.startswith("parse."), health.last_error
    assert await rig.texts() == whole and await rig.last_seq() == seq
