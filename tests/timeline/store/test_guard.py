"""The mass-deletion guard, through `apply` on SQLite and PostgreSQL: a complete snapshot that suddenly
leaves out most of a source (a Guardian item whose body list came back empty, or cut to a tenth) deletes
nothing until the same list has been seen on 3 applies over 2 minutes; the hold shows in the source's
health meanwhile. Explicit deletions are never held."""

from __future__ import annotations

from datetime import datetime, timedelta

from timeline.models import EventDraft, HeldDeletions, Source, Timeline
from timeline.store import ApplyPolicy, ApplyResult, PollState, Store

from .drafts import T0, draft, minutes

POLICY = ApplyPolicy()  # 3 applies spanning 120 s confirm


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def _blog(source: Source, count: int) -> list[EventDraft]:
    return [draft(source.id, f"block-{n}", f"Update {n}", at=minutes(n)) for n in range(count)]


async def _live(store: Store, timeline: Timeline) -> int:
    return len((await store.page(timeline.id, limit=200)).events)


async def _apply_at(store: Store, source: Source, drafts: list[EventDraft], at: float) -> ApplyResult:
    return await store.apply(source.id, drafts, complete=True, now=seconds(at), policy=POLICY)


async def test_a_blog_going_empty_is_held_until_confirmed(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await _apply_at(store, source, _blog(source, 20), 0)

    first = await _apply_at(store, source, [], 10)
    assert (first.changed, await _live(store, timeline)) == (0, 20)
    held = HeldDeletions.of(listed=0, live=20, since=seconds(10), seen=1)
    assert first.held == held
    health = (await store.get_source(source.id)).health
    assert health.held_deletions == held
    assert health.held_deletions.message == "deletions held: upstream lists 0 of 20 updates"

    second = await _apply_at(store, source, [], 70)  # the same drafts again: counted, not skipped
    assert (second.changed, second.held) == (0, held.model_copy(update={"seen": 2}))

    third = await _apply_at(store, source, [], 130)  # 3 sightings over 120 s: confirmed
    assert (third.deleted, third.held, await _live(store, timeline)) == (20, None, 0)
    assert (await store.get_source(source.id)).health.held_deletions is None


async def test_a_list_cut_to_a_tenth_keeps_new_updates_and_holds_the_rest(
    store: Store, timeline: Timeline, source: Source
) -> None:
    blog = _blog(source, 50)
    await _apply_at(store, source, blog, 0)
    edited = draft(source.id, "block-1", "Update 1, corrected", at=minutes(1))
    cut = [blog[0], edited, *blog[2:5], draft(source.id, "new", "Breaking", at=minutes(60))]

    held = await _apply_at(store, source, cut, 30)
    assert (held.new, held.updated, held.deleted) == (1, 1, 0)
    assert held.held is not None and (held.held.listed, held.held.live) == (6, 50)
    assert await _live(store, timeline) == 51

    assert (await _apply_at(store, source, cut, 60)).deleted == 0
    confirmed = await _apply_at(store, source, cut, 150)
    assert (confirmed.deleted, confirmed.held) == (45, None)
    assert await _live(store, timeline) == 6


async def test_three_sightings_are_not_enough_within_two_minutes(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await _apply_at(store, source, _blog(source, 4), 0)
    seen = [(await _apply_at(store, source, [], at)).held for at in (0, 30, 60, 90)]
    assert [held and held.seen for held in seen] == [1, 2, 3, 4]  # held each time, nothing deleted
    assert (await _apply_at(store, source, [], 120)).deleted == 4


async def test_a_different_list_starts_counting_again(
    store: Store, timeline: Timeline, source: Source
) -> None:
    blog = _blog(source, 10)
    await _apply_at(store, source, blog, 0)
    await _apply_at(store, source, blog[:2], 0)
    await _apply_at(store, source, blog[:2], 60)
    other = await _apply_at(store, source, blog[:3], 120)
    assert other.held == HeldDeletions.of(listed=3, live=10, since=seconds(120), seen=1)
    assert (await _apply_at(store, source, blog[:3], 200)).deleted == 0
    assert (await _apply_at(store, source, blog[:3], 240)).deleted == 7


async def test_a_list_back_to_normal_clears_the_hold(
    store: Store, timeline: Timeline, source: Source
) -> None:
    blog = _blog(source, 10)
    await _apply_at(store, source, blog, 0)
    assert (await _apply_at(store, source, [], 10)).held is not None
    back = await _apply_at(store, source, blog, 20)
    assert (back.changed, back.held) == (0, None)
    assert (await store.get_source(source.id)).health.held_deletions is None
    later = await _apply_at(store, source, [], 300)  # a fresh sighting, not the third one
    assert (later.deleted, later.held and later.held.seen) == (0, 1)


async def test_losing_half_or_less_applies_at_once(store: Store, timeline: Timeline, source: Source) -> None:
    blog = _blog(source, 10)
    await _apply_at(store, source, blog, 0)
    result = await _apply_at(store, source, blog[5:], 10)
    assert (result.deleted, result.held, await _live(store, timeline)) == (5, None, 5)


async def test_explicit_deletions_are_never_held(store: Store, timeline: Timeline, source: Source) -> None:
    blog = _blog(source, 6)
    await _apply_at(store, source, blog, 0)
    gone = [d.model_copy(update={"deleted": True}) for d in blog[:5]]
    incremental = await store.apply(source.id, gone, complete=False, now=seconds(10), policy=POLICY)
    assert (incremental.deleted, incremental.held) == (5, None)
    listed_deleted = await _apply_at(store, source, [blog[5].model_copy(update={"deleted": True})], 20)
    assert (listed_deleted.deleted, listed_deleted.held, await _live(store, timeline)) == (1, None, 0)


async def test_deletions_that_would_leave_none_are_held(
    store: Store, timeline: Timeline, source: Source
) -> None:
    """Two of four left out is not more than half, but with the other two deleted outright none is left:
    the explicit deletions apply, the absences wait."""
    blog = _blog(source, 4)
    await _apply_at(store, source, blog, 0)
    explicit = [d.model_copy(update={"deleted": True}) for d in blog[:2]]
    result = await _apply_at(store, source, explicit, 10)
    assert (result.deleted, await _live(store, timeline)) == (2, 2)
    assert result.held == HeldDeletions.of(listed=0, live=4, since=seconds(10), seen=1)


async def test_the_pollers_write_back_keeps_the_hold(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await _apply_at(store, source, _blog(source, 3), 0)
    held = (await _apply_at(store, source, [], 10)).held
    await store.save_poll_state(source.id, PollState(status="ok", next_poll_at=seconds(20)))
    (claim,) = await store.claim_due("poller-1", now=seconds(3600), lease_seconds=60, limit=10)
    assert claim.source.health.held_deletions == held
    await store.finish_polls("poller-1", {source.id: PollState(status="ok", next_poll_at=seconds(3700))})
    assert (await store.get_source(source.id)).health.held_deletions == held
    assert (await store.get_timeline(timeline.id)).sources[0].health.held_deletions == held
