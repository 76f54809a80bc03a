"""What `apply` must write, decided in pure code from the stored state and the incoming drafts.

`apply` takes three decisions in turn, each a pure function of values the store has read:

1. `plan`: the inserts, rewrites and tombstones that make a source's stored events agree with its drafts.
   Only a complete snapshot deletes what it leaves out (`vanished`); sliding windows never infer deletions
   from absence. Updates the parser knew unchanged (by their raw hash) come as the ids of their stored
   events, not as drafts: listed, so not missing, and nothing to write.
2. `damp`, flap damping. Caches in front of an upstream that are out of step with each other (CDN nodes,
   replicas) can serve an older version of an update between newer ones. An edit whose new content hash
   equals one of the event's last `flap_revisions` revisions, while the event last changed less than
   `flap_window` seconds ago, is such a stale copy: it is dropped, with no revision, no seq, nothing
   written. A revert after the window is a revision like any edit. So a source alternating between two
   versions yields at most one new revision per window. A deleted event that reappears is never damped.
3. `guard`, the mass-deletion guard. A complete snapshot whose absences would delete more than half of the
   source's live events (all of them included), or leave it with none, is held: its new and changed
   updates apply, those deletions do not. They apply once the same list (the same set of listed ids) has
   been seen on `confirm_polls` applies in a row spanning at least `confirm_seconds`, the first sighting
   counting as one. A different list starts the count again; a list that no longer drops that much clears
   the hold. Explicit deletions (WordPress `type: delete`) are never held, and a snapshot that is not
   complete leaves a hold as it is: it says nothing about the whole list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import NamedTuple

from timeline.models import EventDraft
from timeline.store.tables import from_micros
from timeline.store.types import ApplyPolicy


class Stored(NamedTuple):
    """The little `apply` needs to know about an event already stored."""

    content_hash: str
    deleted: bool
    revision: int
    published_micros: int
    raw_hash: str | None = None


class Rewrite(NamedTuple):
    """A stored event taking new content (an edit, or a revival of a deleted event) as `revision`."""

    draft: EventDraft
    revision: int
    published_at: datetime
    revived: bool = False


@dataclass
class Plan:
    inserts: list[EventDraft] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)
    tombstones: list[str] = field(default_factory=list)  # explicit deletions
    vanished: list[str] = field(default_factory=list)  # live events a complete snapshot leaves out
    # Drafts whose content is the stored one under a new raw hash (a field normalizing drops changed, or
    # the normalizer's version did): only the hash is kept, with no seq, so the next poll skips them.
    rehashed: list[EventDraft] = field(default_factory=list)

    def __len__(self) -> int:
        """The changes, each taking a seq (a new raw hash is none)."""
        return len(self.inserts) + len(self.rewrites) + len(self.tombstones) + len(self.vanished)

    @property
    def deletions(self) -> list[str]:
        return [*self.tombstones, *self.vanished]


class Recent(NamedTuple):
    """An event's last few revisions: their content hashes, and when the latest was recorded."""

    hashes: frozenset[str]
    changed_at: datetime


class Hold(NamedTuple):
    """A mass deletion held back, as the source row keeps it."""

    digest: str  # of the listed ids
    listed: int
    live: int
    since: datetime  # first sighting of this list
    seen: int  # applies in a row that saw it


class Decision(NamedTuple):
    """What to write, and the hold the source is left with."""

    plan: Plan
    hold: Hold | None


def plan(
    stored: Mapping[str, Stored],
    drafts: Sequence[EventDraft],
    *,
    complete: bool,
    unchanged: Collection[str] = frozenset(),
) -> Plan:
    """The writes that make the stored events of one source agree with `drafts` and `unchanged` (the ids
    of live stored events the snapshot lists as they are).

    A draft listed twice counts once, as its last occurrence. Only a complete snapshot deletes what it
    does not list.
    """
    latest = {draft.id: draft for draft in drafts}
    result = Plan()
    for draft in latest.values():
        _decide(result, stored.get(draft.id), draft)
    if complete:
        missing = (
            ident
            for ident, old in stored.items()
            if not old.deleted and ident not in latest and ident not in unchanged
        )
        result.vanished.extend(sorted(missing))
    return result


def unchanged_ids(stored: Mapping[str, Stored], seen: Collection[str]) -> frozenset[str] | None:
    """The live stored events whose raw hashes are `seen`; None when one of them is not (any more): the
    parser was told of a state that has changed since, so its drafts miss what changed."""
    by_raw = {old.raw_hash: ident for ident, old in stored.items() if old.raw_hash and not old.deleted}
    found = frozenset(by_raw[raw] for raw in seen if raw in by_raw)
    return found if len(found) == len(seen) else None


def fingerprint(drafts: Sequence[EventDraft], seen: Collection[str] = (), *, complete: bool) -> str:
    """A digest of everything `plan` reads from the drafts and the raw hashes `seen`.

    Applying drafts leaves the source in a state where applying them again plans nothing, and only
    `apply` changes a source's events. So drafts with the fingerprint of the last apply that changed
    something need no comparison at all: re-polling an unchanged source costs one small query. (An apply
    that damped or held something does not leave that state, so it is not remembered.) A draft's raw
    hash stands for all of it, as a seen update's does, so an update counts alike whether the parser
    normalized it or knew it; a draft without one (written by hand) counts by what `plan` reads of it.
    """
    latest = {d.id: d.raw_hash or f"{d.id} {d.content_hash} {d.deleted:d}" for d in drafts}
    lines = sorted((*latest.values(), *seen))
    text = "\n".join((f"complete={complete:d}", *lines))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def flap_candidates(todo: Plan) -> list[str]:
    """The events `damp` needs the recent revisions of: the edited live ones."""
    return [rewrite.draft.id for rewrite in todo.rewrites if not rewrite.revived]


def damp(todo: Plan, recent: Mapping[str, Recent], *, now: datetime, policy: ApplyPolicy) -> tuple[Plan, int]:
    """`todo` without the edits that are stale copies, and how many those were."""
    kept = [r for r in todo.rewrites if not _stale(r, recent.get(r.draft.id), now, policy)]
    return replace(todo, rewrites=kept), len(todo.rewrites) - len(kept)


def guard(
    todo: Plan,
    stored: Mapping[str, Stored],
    listed: frozenset[str],
    held: Hold | None,
    *,
    complete: bool,
    now: datetime,
    policy: ApplyPolicy,
) -> Decision:
    """`todo` with a mass deletion held back unless confirmed, and the source's hold after this apply.
    `listed` are the ids the snapshot lists as present (`listed_ids`)."""
    if not complete:
        return Decision(todo, held)
    live = sum(not old.deleted for old in stored.values())
    if not _sweeping(todo, live):
        return Decision(todo, None)
    digest = _digest(listed)
    since, seen = (held.since, held.seen + 1) if held and held.digest == digest else (now, 1)
    if seen >= policy.confirm_polls and (now - since).total_seconds() >= policy.confirm_seconds:
        return Decision(todo, None)
    return Decision(replace(todo, vanished=[]), Hold(digest, len(listed), live, since, seen))


def listed_ids(drafts: Sequence[EventDraft], unchanged: frozenset[str] = frozenset()) -> frozenset[str]:
    """The ids a snapshot lists as present (each draft's last occurrence, explicit deletions left out,
    and the `unchanged` events)."""
    latest = {draft.id: draft for draft in drafts}
    return frozenset(ident for ident, draft in latest.items() if not draft.deleted) | unchanged


def _digest(ids: Collection[str]) -> str:
    return hashlib.blake2b("\n".join(sorted(ids)).encode(), digest_size=16).hexdigest()


def _sweeping(todo: Plan, live: int) -> bool:
    """Whether the deletions by absence remove more than half of the live events, or leave none."""
    if not todo.vanished:
        return False
    revived = sum(rewrite.revived for rewrite in todo.rewrites)
    left = live - len(todo.vanished) - len(todo.tombstones) + len(todo.inserts) + revived
    return 2 * len(todo.vanished) > live or left <= 0


def _stale(rewrite: Rewrite, recent: Recent | None, now: datetime, policy: ApplyPolicy) -> bool:
    if rewrite.revived or recent is None:
        return False
    fresh = (now - recent.changed_at).total_seconds() < policy.flap_window
    return fresh and rewrite.draft.content_hash in recent.hashes


def _decide(result: Plan, old: Stored | None, draft: EventDraft) -> None:
    if old is None:
        if not draft.deleted:
            result.inserts.append(draft)
    elif draft.deleted:
        if not old.deleted:
            result.tombstones.append(draft.id)
    elif old.deleted or old.content_hash != draft.content_hash:
        result.rewrites.append(Rewrite(draft, old.revision + 1, _published_at(old, draft), old.deleted))
    elif draft.raw_hash is not None and draft.raw_hash != old.raw_hash:
        result.rehashed.append(draft)


def _published_at(old: Stored, draft: EventDraft) -> datetime:
    # An estimated time is "when we first saw it": keep the first sighting, not this poll's clock.
    return from_micros(old.published_micros) if draft.time_estimated else draft.published_at
