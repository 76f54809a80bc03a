"""What `apply` must write, decided in pure code from the stored state and the incoming drafts."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from timeline.models import EventDraft
from timeline.store.tables import from_micros


class Stored(NamedTuple):
    """The little `apply` needs to know about an event already stored."""

    content_hash: str
    deleted: bool
    revision: int
    published_micros: int


class Rewrite(NamedTuple):
    """A stored event taking new content (an edit, or an undelete) as `revision`."""

    draft: EventDraft
    revision: int
    published_at: datetime


@dataclass
class Plan:
    inserts: list[EventDraft] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)
    tombstones: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.inserts) + len(self.rewrites) + len(self.tombstones)


def plan(stored: Mapping[str, Stored], drafts: Sequence[EventDraft], *, complete: bool) -> Plan:
    """The writes that make the stored events of one source agree with `drafts`.

    A draft listed twice counts once, as its last occurrence. Only a complete snapshot deletes what it
    does not list; sliding windows never infer deletions from absence (DESIGN §4).
    """
    latest = {draft.id: draft for draft in drafts}
    result = Plan()
    for draft in latest.values():
        _decide(result, stored.get(draft.id), draft)
    if complete:
        missing = (ident for ident, old in stored.items() if not old.deleted and ident not in latest)
        result.tombstones.extend(sorted(missing))
    return result


def fingerprint(drafts: Sequence[EventDraft], *, complete: bool) -> str:
    """A digest of everything `plan` reads from the drafts.

    Applying drafts leaves the source in a state where applying them again plans nothing, and only
    `apply` changes a source's events. So drafts with the fingerprint of the last apply that changed
    something need no comparison at all: re-polling an unchanged source costs one small query.
    """
    lines = (f"{d.id} {d.content_hash} {d.deleted:d}" for d in drafts)
    text = "\n".join((f"complete={complete:d}", *lines))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _decide(result: Plan, old: Stored | None, draft: EventDraft) -> None:
    if old is None:
        if not draft.deleted:
            result.inserts.append(draft)
    elif draft.deleted:
        if not old.deleted:
            result.tombstones.append(draft.id)
    elif old.deleted or old.content_hash != draft.content_hash:
        result.rewrites.append(Rewrite(draft, old.revision + 1, _published_at(old, draft)))


def _published_at(old: Stored, draft: EventDraft) -> datetime:
    # An estimated time is "when we first saw it": keep the first sighting, not this poll's clock.
    return from_micros(old.published_micros) if draft.time_estimated else draft.published_at
