from __future__ import annotations

import pytest

from timeline.errors import ConflictError, SourceNotFoundError, TimelineNotFoundError
from timeline.models import Source, Timeline
from timeline.store import PollState, Store
from timeline.store._timelines import slugify

from .drafts import T0, draft, minutes


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Élection présidentielle 2024: live!", "election-presidentielle-2024-live"),
        ("  --Ukraine   war -- ", "ukraine-war"),
        ("東京", "timeline"),
        ("x" * 80, "x" * 60),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


async def test_derived_slugs_are_unique(store: Store) -> None:
    slugs = [(await store.create_timeline("Budget day")).slug for _ in range(3)]
    assert slugs == ["budget-day", "budget-day-2", "budget-day-3"]


async def test_a_taken_explicit_slug_conflicts(store: Store, timeline: Timeline) -> None:
    with pytest.raises(ConflictError):
        await store.create_timeline("Other", slug=timeline.slug)
    with pytest.raises(ValueError, match="slug"):
        await store.create_timeline("Other", slug="Not A Slug")


async def test_timelines_by_id_or_slug_with_sources(store: Store, timeline: Timeline, source: Source) -> None:
    by_slug = await store.get_timeline(timeline.slug)
    assert by_slug == await store.get_timeline(timeline.id)
    assert by_slug.sources == (source,)
    assert (by_slug.title, by_slug.status, by_slug.last_seq) == ("Election night", "live", 0)
    assert await store.list_timelines() == [by_slug]
    with pytest.raises(TimelineNotFoundError):
        await store.get_timeline("nothing-here")


async def test_update_timeline(store: Store, timeline: Timeline) -> None:
    updated = await store.update_timeline(timeline.slug, title="Results night", status="ended")
    assert (updated.title, updated.status, updated.slug) == ("Results night", "ended", timeline.slug)
    with pytest.raises(TimelineNotFoundError):
        await store.update_timeline("tl_missing", title="x")


async def test_a_title_or_status_change_moves_the_seq(store: Store, timeline: Timeline) -> None:
    _, before = await store.timeline_seq(timeline.id)
    await store.update_timeline(timeline.id, title="Results night")
    _, after = await store.timeline_seq(timeline.id)
    await store.update_timeline(timeline.id)  # nothing to change: nothing moves
    assert after > before and (await store.timeline_seq(timeline.id))[1] == after


async def test_ending_a_timeline_unschedules_its_sources_and_reviving_it_reschedules_them(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await store.update_timeline(timeline.id, status="ended")
    assert (await store.get_poll_state(source.id)).next_poll_at is None
    assert await store.claim_due("p", now=minutes(60), lease_seconds=60, limit=10) == []

    await store.update_timeline(timeline.id, status="live", now=minutes(5))

    assert (await store.get_poll_state(source.id)).next_poll_at == minutes(5)
    claimed = await store.claim_due("p", now=minutes(6), lease_seconds=60, limit=10)
    assert [claim.source.id for claim in claimed] == [source.id]


async def test_delete_timeline_takes_everything_with_it(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await store.apply(source.id, [draft(source.id, "a")], complete=True, now=T0)
    await store.delete_timeline(timeline.id)
    with pytest.raises(TimelineNotFoundError):
        await store.get_timeline(timeline.id)
    with pytest.raises(SourceNotFoundError):
        await store.get_source(source.id)
    with pytest.raises(TimelineNotFoundError):
        await store.delete_timeline(timeline.id)


async def test_sources_are_unique_per_timeline(store: Store, timeline: Timeline, source: Source) -> None:
    assert await store.get_source(source.id) == source
    assert (source.health.status, source.health.next_poll_at) == ("new", source.created_at)
    with pytest.raises(ConflictError):
        await store.add_source(timeline.id, source.url, "auto")
    with pytest.raises(TimelineNotFoundError):
        await store.add_source("tl_missing", source.url, "auto")


async def test_poll_state_round_trip_and_health(store: Store, source: Source) -> None:
    state = PollState(
        status="failing",
        etag='"abc"',
        last_modified="Wed, 01 May 2024 12:00:00 GMT",
        body_hash="f00",
        next_poll_at=minutes(5),
        interval_seconds=30.0,
        consecutive_failures=2,
        last_error_kind="fetch.timeout",
        last_error_message="no answer in 20 s",
        last_error_at=minutes(1),
        last_success_at=T0,
        lease_owner="worker-1",
        lease_until=minutes(2),
    )
    await store.save_poll_state(source.id, state)
    assert await store.get_poll_state(source.id) == state
    health = (await store.get_source(source.id)).health
    assert health.last_error is not None and health.last_error.kind == "fetch.timeout"
    assert (health.status, health.consecutive_failures, health.last_success_at) == ("failing", 2, T0)
    await store.request_poll(source.id, now=minutes(3))
    assert (await store.get_poll_state(source.id)).next_poll_at == minutes(3)
    with pytest.raises(SourceNotFoundError):
        await store.save_poll_state("src_missing", state)


async def test_ensure_source_creates_what_is_missing(store: Store) -> None:
    created = await store.ensure_source("budget", "https://news.example/budget", "guardian", title="Budget")
    again = await store.ensure_source("budget", "https://news.example/budget", "guardian")
    assert created == again
    assert (await store.get_timeline("budget")).title == "Budget"


async def test_timelines_count_what_the_public_reads_and_its_newest_time(
    store: Store, timeline: Timeline, source: Source
) -> None:
    other = await store.create_timeline("Other")
    updates = [draft(source.id, f"u{n}", at=minutes(n)) for n in range(4)]
    await store.apply(
        source.id, [*updates, draft(source.id, "gone", at=minutes(9), deleted=True)], complete=False, now=T0
    )
    newest = await store.page(timeline.id, limit=1)
    await store.edit_event(timeline.id, newest.events[0].id, {"hidden": True}, editor="desk", now=T0)

    found = await store.get_timeline(timeline.id)
    assert (found.events, found.last_event_at) == (3, minutes(2))  # neither the deleted nor the hidden
    assert [(t.id, t.events, t.last_event_at) for t in await store.list_timelines()] == [
        (timeline.id, 3, minutes(2)),
        (other.id, 0, None),
    ]
