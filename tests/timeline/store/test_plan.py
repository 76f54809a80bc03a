"""Properties of apply's pure decisions (`timeline.store._plan`), with no database: the mass-deletion
guard holds back what it must and nothing else, and flap damping lets a source alternating two versions
make at most one revision per window."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from timeline.models import EventDraft
from timeline.store import ApplyPolicy
from timeline.store._plan import (
    Hold,
    Plan,
    Recent,
    Stored,
    damp,
    fingerprint,
    flap_candidates,
    guard,
    listed_ids,
    plan,
    unchanged_ids,
)

from .drafts import T0, draft

SOURCE = "src_plan"
IDS = tuple("abcdefgh")
POLICY = ApplyPolicy(confirm_polls=3, confirm_seconds=120, flap_window=600, flap_revisions=5)

# One poll: complete or not, the ids it lists, those it deletes outright, seconds since the last poll.
polls = st.tuples(
    st.booleans(),
    st.frozensets(st.sampled_from(IDS)),
    st.frozensets(st.sampled_from(IDS), max_size=2),
    st.integers(0, 90),
)


@dataclass
class Source:
    """What the store would hold of one source, kept by applying each decision the way `apply` writes it."""

    stored: dict[str, Stored] = field(default_factory=dict)
    hold: Hold | None = None

    def live(self) -> int:
        return sum(not old.deleted for old in self.stored.values())

    def write(self, todo: Plan) -> None:
        for new in todo.inserts:
            self.stored[new.id] = Stored(new.content_hash, False, 1, 0)
        for rewrite in todo.rewrites:
            self.stored[rewrite.draft.id] = Stored(rewrite.draft.content_hash, False, rewrite.revision, 0)
        for ident in todo.deletions:
            self.stored[ident] = self.stored[ident]._replace(deleted=True)


def _drafts(listed: frozenset[str], deleted: frozenset[str]) -> list[EventDraft]:
    present = [draft(SOURCE, uid) for uid in sorted(listed - deleted)]
    return present + [draft(SOURCE, uid, deleted=True) for uid in sorted(deleted)]


def _sweeping(todo: Plan, live: int) -> bool:
    left = live - len(todo.deletions) + len(todo.inserts) + sum(r.revived for r in todo.rewrites)
    return bool(todo.vanished) and (2 * len(todo.vanished) > live or left <= 0)


@dataclass
class Run:
    """Complete polls in a row that listed the same ids and would each sweep: what confirms a hold. A
    confirmation ends it; so does any complete poll that lists other ids or would not sweep."""

    listed: frozenset[str] | None = None
    since: datetime | None = None
    seen: int = 0

    def sighted(self, listed: frozenset[str], now: datetime) -> None:
        if listed != self.listed:
            self.listed, self.since, self.seen = listed, now, 0
        self.seen += 1

    def confirmed(self, now: datetime) -> bool:
        """`confirm_polls` sightings in this run, the first of them `confirm_seconds` ago or more."""
        assert self.since is not None
        long_enough = (now - self.since).total_seconds() >= POLICY.confirm_seconds
        return self.seen >= POLICY.confirm_polls and long_enough


@settings(max_examples=300, deadline=None)
@given(history=st.lists(polls, min_size=1, max_size=25))
def test_the_guard_holds_mass_deletions_until_the_same_list_is_confirmed(
    history: list[tuple[bool, frozenset[str], frozenset[str], int]],
) -> None:
    source, run, now = Source(), Run(), T0
    for complete, listed, deleted, pause in history:
        now += timedelta(seconds=pause)
        drafts = _drafts(listed, deleted)
        todo = plan(source.stored, drafts, complete=complete)
        decided = guard(
            todo, source.stored, listed_ids(drafts), source.hold, complete=complete, now=now, policy=POLICY
        )
        kept = decided.plan
        assert (kept.inserts, kept.rewrites, kept.tombstones) == (
            todo.inserts,
            todo.rewrites,
            todo.tombstones,
        )
        if not complete:
            assert (kept, decided.hold) == (todo, source.hold)
        elif not _sweeping(todo, source.live()):
            assert (kept, decided.hold) == (todo, None)
            run = Run()
        elif kept.vanished:
            run.sighted(listed_ids(drafts), now)
            assert decided.hold is None and run.confirmed(now)
            run = Run()
        else:
            run.sighted(listed_ids(drafts), now)
            assert not run.confirmed(now)
            hold = decided.hold
            assert hold is not None and (hold.listed, hold.live) == (len(listed - deleted), source.live())
            assert (
                hold.seen < POLICY.confirm_polls
                or (now - hold.since).total_seconds() < POLICY.confirm_seconds
            )
        source.write(kept)
        source.hold = decided.hold


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.booleans(), st.integers(0, 400)), min_size=1, max_size=40))
def test_two_versions_alternating_make_at_most_one_revision_per_window(steps: list[tuple[bool, int]]) -> None:
    """The first edit is a revision at once; after it, revisions of two alternating versions are at least
    a window apart, however the polls are timed."""
    versions = (draft(SOURCE, "a", "version one"), draft(SOURCE, "a", "version two"))
    stored = {versions[0].id: Stored(versions[0].content_hash, False, 1, 0)}
    revisions: list[tuple[str, datetime]] = [(versions[0].content_hash, T0)]
    now = T0
    for second, pause in steps:
        now += timedelta(seconds=pause)
        todo = plan(stored, [versions[second]], complete=False)
        todo, _ = damp(
            todo, {ident: _recent(revisions) for ident in flap_candidates(todo)}, now=now, policy=POLICY
        )
        for rewrite in todo.rewrites:
            stored[rewrite.draft.id] = Stored(rewrite.draft.content_hash, False, rewrite.revision, 0)
            revisions.append((rewrite.draft.content_hash, now))
    times = [at for _, at in revisions[1:]]
    assert all(
        (later - earlier).total_seconds() >= POLICY.flap_window
        for earlier, later in itertools.pairwise(times)
    )


def _recent(revisions: list[tuple[str, datetime]]) -> Recent:
    last = revisions[-POLICY.flap_revisions :]
    return Recent(frozenset(digest for digest, _ in last), last[-1][1])


def test_a_new_version_or_a_revival_is_never_damped() -> None:
    edited, revived = draft(SOURCE, "a", "three"), draft(SOURCE, "b", "one")
    stored = {edited.id: Stored("x", False, 2, 0), revived.id: Stored(revived.content_hash, True, 1, 0)}
    todo = plan(stored, [edited, revived], complete=False)
    assert flap_candidates(todo) == [edited.id]
    recent = {revived.id: Recent(frozenset({revived.content_hash}), T0)}
    assert damp(todo, recent, now=T0, policy=POLICY) == (todo, 0)


def _raw(upstream_id: str) -> EventDraft:
    """A draft as the parser makes it, with a raw hash."""
    return draft(SOURCE, upstream_id).model_copy(update={"raw_hash": f"raw-{upstream_id}"})


def _stored(*drafts: EventDraft, deleted: bool = False) -> dict[str, Stored]:
    return {d.id: Stored(d.content_hash, deleted, 1, 0, d.raw_hash) for d in drafts}


def test_unchanged_events_are_listed_so_a_complete_snapshot_deletes_only_the_others() -> None:
    kept, gone = _raw("a"), _raw("b")
    stored = _stored(kept, gone)
    unchanged = unchanged_ids(stored, ["raw-a"])
    assert unchanged == {kept.id}
    todo = plan(stored, [], complete=True, unchanged=unchanged)
    assert (todo.inserts, todo.rewrites, todo.vanished, todo.rehashed) == ([], [], [gone.id], [])
    assert listed_ids([], unchanged) == {kept.id}


def test_a_seen_hash_that_is_no_live_events_is_outdated() -> None:
    deleted = _raw("a")
    assert unchanged_ids(_stored(deleted, deleted=True), ["raw-a"]) is None
    assert unchanged_ids(_stored(deleted), ["raw-x"]) is None
    assert unchanged_ids(_stored(deleted), []) == frozenset()


def test_the_same_content_under_a_new_raw_hash_is_rehashed_without_a_change() -> None:
    old = _raw("a")
    new = old.model_copy(update={"raw_hash": "raw-a, normalized again"})
    stored = _stored(old)
    assert plan(stored, [old], complete=True) == Plan()
    todo = plan(stored, [new], complete=True)
    assert len(todo) == 0 and todo.rehashed == [new]


def test_an_update_counts_alike_in_the_fingerprint_normalized_or_seen() -> None:
    a, b = _raw("a"), _raw("b")
    both = fingerprint([a, b], complete=True)
    assert (
        both
        == fingerprint([b], ["raw-a"], complete=True)
        == fingerprint([], ["raw-b", "raw-a"], complete=True)
    )
    assert both != fingerprint([a, b], complete=False)
    assert both != fingerprint([a], complete=True)
