from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from timeline.errors import EventNotFoundError, InvalidCursorError, TimelineNotFoundError
from timeline.ids import SortKey
from timeline.models import Event, EventDraft, Source, Timeline, Tombstone
from timeline.store import Order, Store

from .drafts import T0, draft, minutes


def _key(event: Event) -> SortKey:
    return SortKey(event.published_at, event.position, event.id)


def _crowded(source: Source, count: int) -> list[EventDraft]:
    """Events sharing times and positions, so the order needs all three keys; µs times catch rounding."""
    return [
        draft(
            source.id,
            f"u{n}",
            at=minutes(n // 4).replace(microsecond=n % 3),
            position=n % 2,
            key_event=n % 3 == 0,
        )
        for n in range(count)
    ]


async def _walk(
    store: Store,
    timeline_id: str,
    order: Order,
    limit: int,
    between: Callable[[], Awaitable[None]] | None = None,
) -> list[Event]:
    """Every event reached by following `next` from the first page."""
    page = await store.page(timeline_id, order=order, limit=limit)
    seen = list(page.events)
    while page.next:
        assert len(seen) < 1000, "the walk does not end: a cursor repeats events"
        if between:
            await between()
        page = await store.page(timeline_id, order=order, limit=limit, after=page.next)
        seen += page.events
    return seen


@pytest.mark.parametrize(("order", "limit"), [("desc", 1), ("desc", 7), ("asc", 3), ("asc", 50)])
async def test_cursors_walk_every_event_once_in_order(
    store: Store, timeline: Timeline, source: Source, order: Order, limit: int
) -> None:
    drafts = _crowded(source, 23)
    await store.apply(source.id, drafts, complete=True, now=T0)
    keys = [_key(e) for e in await _walk(store, timeline.id, order, limit)]
    assert keys == sorted(keys, reverse=order == "desc")
    assert sorted(k.id for k in keys) == sorted(d.id for d in drafts)


@pytest.mark.parametrize(
    "start", [datetime(2004, 10, 14, 14, 59, 18, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)]
)
async def test_cursors_are_exact_to_the_microsecond(
    store: Store, timeline: Timeline, source: Source, start: datetime
) -> None:
    """Old and bogus dates (broken feeds say 1970) are where float timestamps lose a microsecond."""
    drafts = [draft(source.id, str(n), at=start + timedelta(microseconds=1001 * n)) for n in range(20)]
    await store.apply(source.id, drafts, complete=True, now=T0)
    walked = await _walk(store, timeline.id, "asc", 1)
    assert [e.id for e in walked] == [d.id for d in drafts]


async def test_prev_goes_back_page_by_page(store: Store, timeline: Timeline, source: Source) -> None:
    await store.apply(source.id, _crowded(source, 10), complete=True, now=T0)
    pages = [await store.page(timeline.id, limit=4)]
    while pages[-1].next:
        pages.append(await store.page(timeline.id, limit=4, after=pages[-1].next))
    assert [len(p.events) for p in pages] == [4, 4, 2]
    assert pages[0].prev is None and pages[-1].next is None
    for earlier, later in itertools.pairwise(pages):
        assert later.prev
        back = await store.page(timeline.id, limit=4, before=later.prev)
        assert back.events == earlier.events
        assert back.next == earlier.next and back.prev == earlier.prev


async def test_walking_while_events_arrive(store: Store, timeline: Timeline, source: Source) -> None:
    """Keyset paging neither repeats nor skips the events that were there, whatever arrives meanwhile."""
    before = _crowded(source, 15)
    await store.apply(source.id, before, complete=False, now=T0)
    arrivals = iter(range(100))

    async def publish() -> None:
        n = next(arrivals)
        newer = draft(source.id, f"new{n}", at=minutes(60 + n))
        older = draft(source.id, f"old{n}", at=minutes(-60 - n))
        middle = draft(source.id, f"mid{n}", at=minutes(2).replace(microsecond=1), position=n)
        await store.apply(source.id, [newer, older, middle], complete=False, now=T0)

    for order in ("desc", "asc"):
        seen = await _walk(store, timeline.id, order, 4, publish)
        keys = [_key(e) for e in seen]
        assert keys == sorted(keys, reverse=order == "desc")
        assert len(set(keys)) == len(keys)
        assert {d.id for d in before} <= {k.id for k in keys}


async def test_pages_leave_out_tombstones_and_can_keep_key_events_only(
    store: Store, timeline: Timeline, source: Source
) -> None:
    drafts = _crowded(source, 12)
    await store.apply(source.id, drafts, complete=True, now=T0)
    await store.apply(source.id, [drafts[0].model_copy(update={"deleted": True})], complete=False, now=T0)
    live = await _walk(store, timeline.id, "asc", 5)
    assert drafts[0].id not in {e.id for e in live} and len(live) == 11
    key_events = await store.page(timeline.id, order="asc", limit=2, key_events=True)
    walked = await store.page(timeline.id, order="asc", limit=2, key_events=True, after=key_events.next)
    expected = sorted((e for e in live if e.key_event), key=_key)
    assert key_events.events + walked.events == expected[:4]


async def test_empty_and_unknown_timelines(store: Store, timeline: Timeline) -> None:
    page = await store.page(timeline.id)
    assert (page.events, page.next, page.prev) == ([], None, None)
    with pytest.raises(TimelineNotFoundError):
        await store.page("tl_missing")
    with pytest.raises(TimelineNotFoundError):
        await store.changes("tl_missing", since=0, limit=10)


async def test_bad_cursors_and_arguments_are_refused(store: Store, timeline: Timeline) -> None:
    with pytest.raises(InvalidCursorError):
        await store.page(timeline.id, after="not-a-cursor")
    with pytest.raises(ValueError, match="at most one"):
        await store.page(timeline.id, after="a", before="b")


async def test_pinned_events(store: Store, timeline: Timeline, source: Source) -> None:
    drafts = [draft(source.id, str(n), at=minutes(n), pinned=n in (1, 3)) for n in range(5)]
    await store.apply(source.id, drafts, complete=True, now=T0)
    assert [e.upstream_id for e in await store.pinned(timeline.id)] == ["3", "1"]
    assert len((await store.page(timeline.id)).events) == 5  # pinned events keep their time position too


async def test_get_event_returns_tombstones(store: Store, timeline: Timeline, source: Source) -> None:
    await store.apply(source.id, [draft(source.id, "a", at=minutes(3))], complete=True, now=T0)
    await store.apply(source.id, [draft(source.id, "a", deleted=True)], complete=True, now=T0)
    event = await store.get_event(timeline.id, draft(source.id, "a").id)
    assert event == Tombstone(id=event.id, seq=2, published_at=minutes(3))
    with pytest.raises(EventNotFoundError):
        await store.get_event("tl_other", event.id)
    with pytest.raises(EventNotFoundError):
        await store.revisions(timeline.id, "ev_missing")


async def test_a_deleted_events_history_is_read_only_when_asked_for(
    store: Store, timeline: Timeline, source: Source
) -> None:
    for n, body in enumerate(["one", "two"]):
        await store.apply(source.id, [draft(source.id, "a", body)], complete=False, now=minutes(n))
    await store.apply(source.id, [draft(source.id, "a", deleted=True)], complete=False, now=minutes(2))
    ident = draft(source.id, "a").id
    with pytest.raises(EventNotFoundError, match="deleted"):
        await store.revisions(timeline.id, ident)
    history = await store.revisions(timeline.id, ident, unpublished=True)
    assert [(r.revision, r.body_text) for r in history] == [(1, "one"), (2, "two")]
    full = await store.full_event(timeline.id, ident)
    assert (full.deleted, full.body_text, full.revision, full.seq) == (True, "two", 2, 3)
    with pytest.raises(EventNotFoundError):
        await store.full_event("tl_other", ident)
