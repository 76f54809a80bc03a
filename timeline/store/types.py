"""Values the store returns besides the public models: apply results, pages, revisions, poll state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, NamedTuple, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from timeline.models import Event, HeldDeletions, SourceStatus, UTCDateTime

__all__ = [
    "ApplyPolicy",
    "ApplyResult",
    "AuditEntry",
    "AuditPage",
    "ChangeDoc",
    "Committed",
    "FieldChange",
    "OnCommit",
    "Order",
    "Page",
    "PageOptions",
    "PollState",
    "Revision",
]

Order = Literal["desc", "asc"]  # of a page: `desc` is newest first


@dataclass(frozen=True, slots=True)
class ApplyPolicy:
    """How `apply` guards against an upstream that misbehaves (see `timeline.store._plan`).

    A complete snapshot that would delete (by absence) more than half of a source's live events, or leave
    it with none, is held until the same list has been seen on `confirm_polls` applies in a row spanning
    `confirm_seconds`. An edit back to one of an event's last `flap_revisions` versions less than
    `flap_window` seconds after its last change is a stale copy, and is ignored.
    """

    confirm_polls: int = 3
    confirm_seconds: float = 120.0
    flap_window: float = 600.0
    flap_revisions: int = 5

    def __post_init__(self) -> None:
        if self.confirm_polls < 1 or self.flap_revisions < 1:
            raise ValueError("ApplyPolicy needs confirm_polls >= 1 and flap_revisions >= 1")
        if self.confirm_seconds < 0 or self.flap_window < 0:
            raise ValueError("ApplyPolicy needs confirm_seconds >= 0 and flap_window >= 0")


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one `apply` (or `remove_source`) changed.

    The changes took the contiguous seqs `first_seq … last_seq`; read them back with
    `changes(timeline_id, since=first_seq - 1)`. With nothing changed, `last_seq` is the timeline's.
    `held` is set when deletions the snapshot implies were held back (a mass deletion not yet
    confirmed), and `damped` counts edits ignored as stale copies; neither is in `changed`. `outdated`
    says nothing was written because the snapshot was read against raw hashes that changed meanwhile.
    """

    timeline_id: str
    new: int = 0
    updated: int = 0
    deleted: int = 0
    last_seq: int = 0
    held: HeldDeletions | None = None
    damped: int = 0
    outdated: bool = False

    @property
    def changed(self) -> int:
        return self.new + self.updated + self.deleted

    @property
    def first_seq(self) -> int | None:
        return self.last_seq - self.changed + 1 if self.changed else None


@dataclass(frozen=True, slots=True)
class Committed:
    """A committed write, as the store reports it: `timeline_id` is at `last_seq` now, or, with
    `deleted`, gone (with its events)."""

    timeline_id: str
    last_seq: int
    deleted: bool = False


OnCommit = Callable[[Committed], Awaitable[None]]
"""What the store tells of each committed write (see `Store`)."""

T = TypeVar("T")


class PageOptions(TypedDict, total=False):
    """What `Store.page_docs` (and `page`) take besides the timeline; what is left out takes its default."""

    order: Order
    limit: int
    before: str | None
    after: str | None
    key_events: bool
    since: datetime | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Events (models, or their JSON) in reading order. Pass `next` as `after=` to read on and `prev` as
    `before=` to go back; each is None when there is nothing more in that direction."""

    events: list[T]
    next: str | None = None
    prev: str | None = None


class ChangeDoc(NamedTuple):
    """One stored change, as `Change` but with the event as its JSON."""

    seq: int
    deleted: bool
    doc: str

    @property
    def kind(self) -> Literal["upsert", "delete"]:
        return "delete" if self.deleted else "upsert"


class Revision(Event):
    """One stored version of an event as readers saw it (the editors' overrides applied): its content at
    `revision`, recorded under `seq`, made by its source or by an editor."""

    recorded_at: UTCDateTime = Field(description="When the store recorded this version.")
    made_by: Literal["source", "editor"] = Field(
        description="`source`: a poll brought this version; `editor`: an editor's change made it."
    )
    editor: str | None = Field(
        None, description="The name of the API key that made this version: keyed reads only, else null."
    )


class FieldChange(BaseModel):
    """One field an editorial action changed."""

    model_config = ConfigDict(frozen=True)

    before: Any = Field(description="Its value before (null: none, or not set).")
    after: Any = Field(description="Its value after.")


class AuditEntry(BaseModel):
    """One editorial action: who (the API key's name), when, on which event, and what it changed."""

    model_config = ConfigDict(frozen=True)

    seq: int = Field(description="The seq of the change it made (also its place in `/changes`).")
    at: UTCDateTime
    editor: str = Field(description="The name of the API key used (TIMELINE_API_KEYS).")
    event_id: str
    action: Literal["post", "edit", "delete"] = Field(
        description="`post`: a new editorial post; `edit`: overrides or a post's content; `delete`: a post "
        "deleted, or an ingested event hidden."
    )
    changes: dict[str, FieldChange] = Field(description="Each field that changed, before and after.")


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Editorial actions, newest first; pass `next` as `before` to read older ones (None: no more)."""

    entries: list[AuditEntry]
    next: int | None = None


@dataclass(frozen=True, slots=True)
class PollState:
    """The poller's bookkeeping for one source. The store keeps it; it decides nothing."""

    status: SourceStatus = "new"
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    next_poll_at: datetime | None = None
    interval_seconds: float | None = None
    consecutive_failures: int = 0
    consecutive_missing: int = 0  # of those failures, 404/410 answers in a row (the "gone" rule)
    last_error_kind: str | None = None
    last_error_message: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None
    last_change_at: datetime | None = None  # the last poll that changed an event
    ended_at: datetime | None = None  # when the poller first saw the blog end (or go silent)
    coverage_start: datetime | None = None  # what the source's last read document declared
    coverage_end: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
