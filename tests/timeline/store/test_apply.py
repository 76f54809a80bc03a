from __future__ import annotations

from datetime import timedelta

import pytest

from timeline.errors import SourceNotFoundError
from timeline.models import Source, Timeline
from timeline.store import Store

from .drafts import PLAIN, T0, draft, minutes


async def _state(store: Store, timeline: Timeline) -> dict[str, tuple[str, int, bool]]:
    """upstream id → (body, revision, deleted) of every stored event, tombstones included, as keyed
    reads see them (with the content a deleted event keeps)."""
    changes = await store.changes(timeline.id, since=0, limit=1000)
    full = [await store.full_event(timeline.id, c.event.id) for c in changes]
    return {e.upstream_id: (e.body_text, e.revision, e.deleted) for e in full}


async def test_new_drafts_are_inserted_as_revision_1(
    store: Store, timeline: Timeline, source: Source
) -> None:
    drafts = [draft(source.id, "a", "one", at=minutes(1)), draft(source.id, "b", "two", at=minutes(2))]
    result = await store.apply(source.id, drafts, complete=True, now=T0)
    assert (result.new, result.updated, result.deleted, result.last_seq) == (2, 0, 0, 2)
    assert result.timeline_id == timeline.id and result.first_seq == 1
    assert await _state(store, timeline) == {"a": ("one", 1, False), "b": ("two", 1, False)}
    assert (await store.get_timeline(timeline.id)).last_seq == 2


async def test_changed_content_takes_the_next_revision(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await store.apply(source.id, [draft(source.id, "a", "one"), draft(source.id, "b")], complete=True, now=T0)
    result = await store.apply(
        source.id, [draft(source.id, "a", "uno"), draft(source.id, "b")], complete=True, now=T0
    )
    assert (result.new, result.updated, result.deleted, result.last_seq) == (0, 1, 0, 3)
    assert (await _state(store, timeline))["a"] == ("uno", 2, False)


async def test_applying_the_same_drafts_again_changes_nothing(
    store: Store, timeline: Timeline, source: Source
) -> None:
    drafts = [draft(source.id, "a", "one"), draft(source.id, "b", deleted=True)]
    first = await store.apply(source.id, drafts, complete=False, now=T0)
    again = await store.apply(source.id, drafts, complete=False, now=T0 + timedelta(hours=1))
    reordered = await store.apply(source.id, drafts[::-1], complete=False, now=T0)
    assert first.changed == 1
    assert again.changed == reordered.changed == 0
    assert again.last_seq == reordered.last_seq == first.last_seq


async def test_an_earlier_snapshot_applies_again_after_others(
    store: Store, timeline: Timeline, source: Source
) -> None:
    """Re-applying is skipped by fingerprint only for the drafts of the last apply that changed something."""
    both = [draft(source.id, "a"), draft(source.id, "b")]
    only_a = [draft(source.id, "a")]
    assert (await store.apply(source.id, both, complete=True, now=T0)).new == 2
    assert (await store.apply(source.id, only_a, complete=False, now=T0)).changed == 0
    assert (await store.apply(source.id, both, complete=True, now=T0)).changed == 0
    assert (await store.apply(source.id, only_a, complete=True, now=T0)).deleted == 1
    assert (await store.apply(source.id, both, complete=True, now=T0)).updated == 1
    assert await _state(store, timeline) == {"a": ("text", 1, False), "b": ("text", 2, False)}


async def test_explicit_deletion_tombstones_and_reappearance_undeletes(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await store.apply(source.id, [draft(source.id, "a", "one")], complete=False, now=T0)
    deleted = await store.apply(
        source.id, [draft(source.id, "a", "one", deleted=True)], complete=False, now=T0
    )
    assert (deleted.deleted, deleted.last_seq) == (1, 2)
    assert (await _state(store, timeline))["a"] == ("one", 1, True)
    again = await store.apply(source.id, [draft(source.id, "a", "one", deleted=True)], complete=False, now=T0)
    assert again.changed == 0
    back = await store.apply(source.id, [draft(source.id, "a", "one")], complete=False, now=T0)
    assert (back.updated, back.last_seq) == (1, 3)
    assert (await _state(store, timeline))["a"] == ("one", 2, False)


async def test_deleting_an_unknown_event_stores_nothing(
    store: Store, timeline: Timeline, source: Source
) -> None:
    result = await store.apply(source.id, [draft(source.id, "ghost", deleted=True)], complete=True, now=T0)
    assert (result.changed, result.last_seq) == (0, 0)
    assert await _state(store, timeline) == {}


async def test_only_complete_snapshots_delete_what_they_leave_out(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await store.apply(source.id, [draft(source.id, "a"), draft(source.id, "b")], complete=True, now=T0)
    window = await store.apply(source.id, [draft(source.id, "c")], complete=False, now=T0)
    assert (window.new, window.deleted) == (1, 0)
    complete = await store.apply(source.id, [draft(source.id, "c")], complete=True, now=T0, policy=PLAIN)
    assert complete.deleted == 2
    state = await _state(store, timeline)
    assert {uid for uid, (_, _, deleted) in state.items() if deleted} == {"a", "b"}


async def test_completeness_is_per_source(store: Store, timeline: Timeline, source: Source) -> None:
    other = await store.add_source(timeline.id, "https://news.example/feed.xml", "syndication")
    await store.apply(other.id, [draft(other.id, "x")], complete=False, now=T0)
    await store.apply(source.id, [draft(source.id, "a")], complete=True, now=T0)
    await store.apply(source.id, [], complete=True, now=T0, policy=PLAIN)
    state = await _state(store, timeline)
    assert state["x"] == ("text", 1, False) and state["a"] == ("text", 1, True)


async def test_a_draft_listed_twice_counts_as_its_last_occurrence(
    store: Store, timeline: Timeline, source: Source
) -> None:
    drafts = [draft(source.id, "a", "old"), draft(source.id, "a", "new")]
    result = await store.apply(source.id, drafts, complete=True, now=T0)
    assert result.new == 1
    assert (await _state(store, timeline))["a"] == ("new", 1, False)


async def test_estimated_time_keeps_the_first_sighting(
    store: Store, timeline: Timeline, source: Source
) -> None:
    first = draft(source.id, "a", "one", at=minutes(1), time_estimated=True)
    await store.apply(source.id, [first], complete=True, now=T0)
    edited = draft(source.id, "a", "two", at=minutes(30), time_estimated=True)
    await store.apply(source.id, [edited], complete=True, now=T0)
    event = await store.get_event(timeline.id, first.id)
    assert (event.body_text, event.revision, event.published_at) == ("two", 2, minutes(1))
    dated = draft(source.id, "a", "two", at=minutes(45))
    await store.apply(source.id, [dated], complete=True, now=T0)
    assert (await store.get_event(timeline.id, first.id)).published_at == minutes(45)


async def test_every_revision_is_kept(store: Store, timeline: Timeline, source: Source) -> None:
    for n, body in enumerate(["one", "two", "three"]):
        await store.apply(source.id, [draft(source.id, "a", body)], complete=True, now=minutes(n))
    revisions = await store.revisions(timeline.id, draft(source.id, "a").id)
    assert [(r.revision, r.body_text, r.recorded_at) for r in revisions] == [
        (1, "one", minutes(0)),
        (2, "two", minutes(1)),
        (3, "three", minutes(2)),
    ]
    assert [r.seq for r in revisions] == [1, 2, 3]


async def test_fields_survive_the_round_trip(store: Store, timeline: Timeline, source: Source) -> None:
    rich = draft(
        source.id,
        "a",
        at=T0.replace(microsecond=123457),
        title="Polls close",
        summary="Results soon",
        url="https://news.example/live#a",
        updated_at=minutes(3),
        key_event=True,
        pinned=True,
        authors=("Ann", "Bo"),
        tags=("politics",),
        media=({"url": "https://img.example/a.jpg", "kind": "image"},),
        position=7,
    )
    await store.apply(source.id, [rich], complete=True, now=T0)
    event = await store.get_event(timeline.id, rich.id)
    expected = rich.model_dump(exclude={"deleted", "content_hash", "raw_hash"})
    stored = {"timeline_id", "revision", "deleted", "hidden", "note", "seq"}  # what apply adds to a draft
    assert event.model_dump(exclude=stored) == expected


async def test_changes_since_a_seq(store: Store, timeline: Timeline, source: Source) -> None:
    await store.apply(source.id, [draft(source.id, "a"), draft(source.id, "b")], complete=True, now=T0)
    await store.apply(source.id, [draft(source.id, "b", "edited")], complete=True, now=T0)
    changes = await store.changes(timeline.id, since=2, limit=10)
    ids = [draft(source.id, uid).id for uid in ("b", "a")]
    assert [(c.seq, c.kind, c.event.id) for c in changes] == [(3, "upsert", ids[0]), (4, "delete", ids[1])]
    assert [c.seq for c in await store.changes(timeline.id, since=0, limit=1)] == [3]
    assert await store.changes(timeline.id, since=4, limit=10) == []


async def test_seqs_are_global_across_timelines(store: Store, source: Source) -> None:
    elsewhere = await store.create_timeline("Another blog")
    other = await store.add_source(elsewhere.id, "https://other.example/live", "jsonld")
    seqs = []
    for n in range(3):
        for src in (source, other):
            result = await store.apply(src.id, [draft(src.id, str(n))], complete=False, now=T0)
            seqs.append(result.last_seq)
    assert seqs == sorted(set(seqs)) == list(range(1, 7))


async def test_apply_refuses_unknown_sources_and_strangers_drafts(store: Store, source: Source) -> None:
    with pytest.raises(SourceNotFoundError):
        await store.apply("src_missing", [], complete=True, now=T0)
    with pytest.raises(ValueError, match="other sources"):
        await store.apply(source.id, [draft("src_other", "a")], complete=True, now=T0)


async def test_removing_a_source_tombstones_its_events(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await store.apply(source.id, [draft(source.id, "a"), draft(source.id, "b")], complete=True, now=T0)
    result = await store.remove_source(source.id)
    assert (result.deleted, result.last_seq) == (2, 4)
    assert {c.kind for c in await store.changes(timeline.id, since=2, limit=10)} == {"delete"}
    assert (await store.get_timeline(timeline.id)).sources == ()
    with pytest.raises(SourceNotFoundError):
        await store.remove_source(source.id)
