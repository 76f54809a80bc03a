"""Property: apply keeps exactly the live set a simple model predicts, pages walk it exactly, and the JSON
stored with each event follows its columns."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timeline.models import EventDraft
from timeline.store import Store

from .drafts import PLAIN, T0, draft
from .test_docs import _assert_docs_match_columns
from .test_pages import _walk

UPSTREAM_IDS = ("a", "b", "c", "d", "e", "f")

# (upstream id, body, deleted, µs offset): few bodies so edits and no-op repeats are both common.
entries = st.tuples(
    st.sampled_from(UPSTREAM_IDS),
    st.sampled_from(("x", "y", "z")),
    st.sampled_from((False, False, True)),
    st.integers(0, 3_000_000),
)
snapshots = st.lists(st.tuples(st.booleans(), st.lists(entries, max_size=6)), min_size=1, max_size=6)


def _model(live: dict[str, str], complete: bool, entries: list[tuple[str, str, bool, int]]) -> dict[str, str]:
    """upstream id → body after a snapshot: later entries win, only complete snapshots delete by absence."""
    latest = {uid: (body, deleted) for uid, body, deleted, _ in entries}
    after = {} if complete else dict(live)
    for uid, (body, deleted) in latest.items():
        after.pop(uid, None) if deleted else after.__setitem__(uid, body)
    return after


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=snapshots)
async def test_apply_follows_the_model(
    store: Store, history: list[tuple[bool, list[tuple[str, str, bool, int]]]]
) -> None:
    timeline = await store.create_timeline("Property")
    source = await store.add_source(timeline.id, "https://news.example/live", "wordpress")
    live: dict[str, str] = {}
    last_seq = (await store.get_timeline(timeline.id)).last_seq
    for complete, items in history:
        drafts: list[EventDraft] = [
            draft(source.id, uid, body, at=T0 + timedelta(microseconds=us), deleted=deleted)
            for uid, body, deleted, us in items
        ]
        result = await store.apply(source.id, drafts, complete=complete, now=T0, policy=PLAIN)
        seqs = [c.seq for c in await store.changes(timeline.id, since=last_seq, limit=100)]
        assert seqs == list(range(result.first_seq or last_seq + 1, result.last_seq + 1))
        assert len(seqs) == result.changed and result.last_seq >= last_seq
        last_seq = result.last_seq
        again = await store.apply(source.id, drafts, complete=complete, now=T0, policy=PLAIN)
        assert (again.changed, again.last_seq) == (0, last_seq)
        live = _model(live, complete, items)
        for order in ("asc", "desc"):
            walked = await _walk(store, timeline.id, order, 2)
            assert {e.upstream_id: e.body_text for e in walked} == live
            assert len(walked) == len(live)
        if last_seq > 1:  # the stored JSON of every event, tombstones included, follows its columns
            await _assert_docs_match_columns(store, timeline.id)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=snapshots)
async def test_with_the_clock_standing_still_no_snapshot_sweeps_a_source_away(
    store: Store, history: list[tuple[bool, list[tuple[str, str, bool, int]]]]
) -> None:
    """With the default policy and no time passing, a mass deletion is never confirmed: no apply removes
    more than half of the live events by absence, or the last of them; explicit deletions and what a
    snapshot lists still take effect at once."""
    timeline = await store.create_timeline("Property")
    source = await store.add_source(timeline.id, "https://news.example/live", "wordpress")
    for complete, items in history:
        before = {e.upstream_id for e in await _walk(store, timeline.id, "asc", 50)}
        latest = {uid: deleted for uid, _, deleted, _ in items}
        drafts = [draft(source.id, uid, body, deleted=deleted) for uid, body, deleted, _ in items]
        await store.apply(source.id, drafts, complete=complete, now=T0)
        after = {e.upstream_id for e in await _walk(store, timeline.id, "asc", 50)}
        swept = before - after - set(latest)
        assert 2 * len(swept) <= len(before) and not (swept and not after)
        assert after >= {uid for uid, deleted in latest.items() if not deleted}
        assert not after & {uid for uid, deleted in latest.items() if deleted}
