"""Flap damping, through `apply` on SQLite and PostgreSQL: an edit back to one of an event's last 5
versions within 10 minutes of its last change is a stale copy from an out-of-step cache, and writes
nothing; the same revert later, or a version never seen, is a revision."""

from __future__ import annotations

from datetime import datetime, timedelta

from timeline.models import Event, Source, Timeline
from timeline.store import ApplyPolicy, ApplyResult, Store

from .drafts import T0, draft

POLICY = ApplyPolicy()  # flap_window 600 s, the last 5 revisions


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


async def _post(store: Store, source: Source, body: str, at: float) -> ApplyResult:
    drafts = [draft(source.id, "a", body), draft(source.id, "b", "steady")]
    return await store.apply(source.id, drafts, complete=True, now=seconds(at), policy=POLICY)


async def _bodies(store: Store, timeline: Timeline, source: Source) -> list[str]:
    return [r.body_text for r in await store.revisions(timeline.id, draft(source.id, "a").id)]


async def test_two_versions_alternating_inside_the_window_make_one_new_revision(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await _post(store, source, "version one", 0)
    last_seq = 0
    for n in range(1, 51):  # every 10 s: 500 s, all inside the window
        result = await _post(store, source, "version two" if n % 2 else "version one", 10 * n)
        last_seq = result.last_seq
        assert result.changed == (1 if n == 1 else 0)
        assert result.damped == (1 if n % 2 == 0 else 0)
    assert await _bodies(store, timeline, source) == ["version one", "version two"]
    assert last_seq == 3  # two inserts, then one edit: nothing else took a seq
    event = await store.get_event(timeline.id, draft(source.id, "a").id)
    assert isinstance(event, Event) and (event.seq, event.body_text) == (3, "version two")


async def test_a_revert_after_the_window_is_a_revision(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await _post(store, source, "version one", 0)
    await _post(store, source, "version two", 10)
    assert (await _post(store, source, "version one", 609)).damped == 1
    reverted = await _post(store, source, "version one", 611)  # 601 s after the last change
    assert (reverted.updated, reverted.damped) == (1, 0)
    assert await _bodies(store, timeline, source) == ["version one", "version two", "version one"]


async def test_a_version_never_seen_is_a_revision_at_once(
    store: Store, timeline: Timeline, source: Source
) -> None:
    for n, body in enumerate(["one", "two", "three", "four"]):
        assert (await _post(store, source, body, n)).changed == (2 if n == 0 else 1)
    assert await _bodies(store, timeline, source) == ["one", "two", "three", "four"]


async def test_only_the_last_five_revisions_count(store: Store, timeline: Timeline, source: Source) -> None:
    bodies = ["v1", "v2", "v3", "v4", "v5", "v6"]
    for n, body in enumerate(bodies):
        await _post(store, source, body, n)
    assert (await _post(store, source, "v2", 10)).damped == 1  # v2 … v6 are the last five
    assert (await _post(store, source, "v1", 11)).updated == 1
    assert await _bodies(store, timeline, source) == [*bodies, "v1"]


async def test_a_deleted_event_that_comes_back_is_never_damped(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await _post(store, source, "version one", 0)
    await _post(store, source, "version two", 10)
    gone = draft(source.id, "a", deleted=True)
    assert (await store.apply(source.id, [gone], complete=False, now=seconds(20), policy=POLICY)).deleted == 1
    back = await _post(store, source, "version one", 30)
    assert (back.updated, back.damped) == (1, 0)
    event = await store.get_event(timeline.id, draft(source.id, "a").id)
    assert isinstance(event, Event) and event.body_text == "version one"


async def test_no_window_no_damping(store: Store, timeline: Timeline, source: Source) -> None:
    plain = ApplyPolicy(flap_window=0)
    for n, body in enumerate(["one", "two", "one", "two"]):
        drafts = [draft(source.id, "a", body)]
        await store.apply(source.id, drafts, complete=True, now=seconds(n), policy=plain)
    assert await _bodies(store, timeline, source) == ["one", "two", "one", "two"]
