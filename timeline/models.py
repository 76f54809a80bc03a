"""The public shapes of the service: events, timelines, sources and changes.

All datetimes are aware and in UTC; they serialize as RFC 3339 with `Z`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from feeds.types import Media
from feeds.urls import redact_credentials

__all__ = [
    "Change",
    "EditedEvent",
    "Event",
    "EventDraft",
    "Found",
    "HeldDeletions",
    "LastError",
    "Media",
    "Overrides",
    "Redacted",
    "Source",
    "SourceHealth",
    "Timeline",
    "Tombstone",
    "UTCDateTime",
    "Webhook",
    "WebhookAttempt",
    "WebhookHealth",
    "rfc3339",
]


def rfc3339(value: datetime) -> str:
    """`2024-05-01T12:00:00Z`, with microseconds only when there are some."""
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime needs a UTC offset")
    return value


# A plain `datetime` underneath (not pydantic's AwareDatetime), so Litestar's OpenAPI generator knows it.
UTCDateTime = Annotated[datetime, AfterValidator(_aware), PlainSerializer(rfc3339, return_type=str)]
# Text that may hold a URL with credentials (a source's URL, a message quoting it): serialized with them
# hidden (`user:***@`), so no response or printout shows them; the value itself stays whole, to fetch with.
Redacted = Annotated[str, PlainSerializer(redact_credentials, return_type=str)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EventDraft(_Frozen):
    """One normalized update, before the store gives it a revision and a seq.

    `content_hash` covers every field a reader can see, so an unchanged update is recognised without
    comparing fields one by one.
    """

    id: str = Field(description="Stable public id: `ev_` + base32 of a hash of (source_id, upstream_id).")
    source_id: str
    upstream_id: str
    url: str | None = Field(None, description="Absolute permalink of the update, when the source has one.")
    published_at: UTCDateTime = Field(description="First publication time: the ordering key.")
    time_estimated: bool = Field(
        False, description="The source gave no time; `published_at` is when the update was first seen."
    )
    updated_at: UTCDateTime | None = Field(None, description="Last upstream modification, if known.")
    title: str | None = Field(None, description="Plain text.")
    summary: str | None = Field(None, description="Plain text.")
    body_html: str = Field("", description="Sanitized HTML (allow-list; no scripts, styles, handlers).")
    body_text: str = Field("", description="Plain-text rendering of the body.")
    key_event: bool = False
    pinned: bool = False
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    position: int = Field(0, description="The source's own order among updates sharing a time.")
    deleted: bool = Field(False, description="The source explicitly deleted the update.")
    content_hash: str = Field(description="Hash over the normalized, reader-visible fields.")
    raw_hash: str | None = Field(
        None, description="Hash over the update as the source sent it, before normalization."
    )


class Event(_Frozen):
    """One update of a timeline, as stored and served."""

    id: str = Field(description="Stable public id; never changes across edits.")
    timeline_id: str
    source_id: str
    upstream_id: str
    url: str | None = None
    published_at: UTCDateTime
    time_estimated: bool = False
    updated_at: UTCDateTime | None = None
    title: str | None = None
    summary: str | None = None
    body_html: str = ""
    body_text: str = ""
    key_event: bool = False
    pinned: bool = False
    note: str | None = Field(None, description="An editor's note shown with the event: plain text.")
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    position: int = 0
    revision: int = Field(ge=1, description="1 on first sight, +1 on every change a reader can see.")
    deleted: bool = Field(
        False, description="Deleted upstream: only keyed reads show such an event; others get a `Tombstone`."
    )
    hidden: bool = Field(
        False, description="Hidden by an editor: only keyed reads show it; others get a `Tombstone`."
    )
    seq: int = Field(ge=1, description="Global sequence number of this event's latest change.")


class Overrides(_Frozen):
    """What editors set on an event over what its source says. Re-polls never undo them, and the source's
    own later edits still apply underneath. `null` means "as the source says" (no override)."""

    hidden: bool = Field(False, description="Unpublished: the public reads it as deleted.")
    pinned: bool | None = Field(None, description="Pinned (or not) whatever the source says.")
    key_event: bool | None = Field(None, description="A key event (or not) whatever the source says.")
    title: str | None = Field(None, description="Shown in place of the source's title.")
    note: str | None = Field(None, description="An editor's note shown with the event.")


class EditedEvent(Event):
    """An event as keyed reads and editors see it: whole even when deleted or hidden, with its overrides."""

    editorial: bool = Field(description="An editorial post (of the timeline's own source), not ingested.")
    overrides: Overrides = Field(
        description="The editors' overrides; on an editorial post only `hidden` and `note` are used."
    )


class Tombstone(_Frozen):
    """A deleted event as the public sees it: what a client needs to remove it, none of its content.

    Deleted means unpublished: its title, body, links, media, authors, upstream ids and history are kept by
    the store (for keyed reads) but never served publicly.
    """

    id: str = Field(description="The deleted event's id.")
    seq: int = Field(ge=1, description="Global sequence number of the deletion.")
    deleted: Literal[True] = True
    published_at: UTCDateTime = Field(description="Its ordering time, to find where it was listed.")
    position: int = Field(0, description="Its order among events sharing that time.")


class Change(_Frozen):
    """One stored change: the event's state after it, under the seq that made it."""

    seq: int
    kind: Literal["upsert", "delete"]
    event: Event | Tombstone = Field(description="The event (`upsert`), or its tombstone (`delete`).")


class LastError(_Frozen):
    kind: str = Field(description="Stable machine kind, e.g. `fetch.timeout`, `parse.invalid`.")
    message: Redacted
    at: UTCDateTime


SourceStatus = Literal["new", "ok", "failing", "backing-off", "gone", "ended"]


class HeldDeletions(_Frozen):
    """Deletions the store holds back: the source's complete list suddenly leaves out most of its updates.

    They apply once the same list has been seen on enough polls over enough time; a list that no longer
    drops that much clears the hold.
    """

    listed: int = Field(ge=0, description="Updates the upstream lists now.")
    live: int = Field(ge=0, description="Live events the source had when it listed them.")
    since: UTCDateTime = Field(description="When this same list was first seen.")
    seen: int = Field(ge=1, description="Polls in a row that have seen this same list.")
    message: str = Field(description="For people: `deletions held: upstream lists N of M updates`.")

    @classmethod
    def of(cls, *, listed: int, live: int, since: datetime, seen: int) -> HeldDeletions:
        message = f"deletions held: upstream lists {listed} of {live} updates"
        return cls(listed=listed, live=live, since=since, seen=seen, message=message)


class SourceHealth(_Frozen):
    status: SourceStatus = "new"
    last_success_at: UTCDateTime | None = None
    last_error: LastError | None = None
    consecutive_failures: int = 0
    next_poll_at: UTCDateTime | None = None
    interval_seconds: float | None = None
    held_deletions: HeldDeletions | None = Field(
        None, description="Set while the store holds back a mass deletion this source's list implies."
    )


class Source(_Frozen):
    id: str
    timeline_id: str
    url: Redacted = Field(description="The source's URL; credentials in it are shown as `user:***@`.")
    adapter: str = Field(description="Adapter name, or `auto` to detect from each response.")
    created_at: UTCDateTime
    health: SourceHealth = SourceHealth()


class Found(_Frozen):
    """What a source's document says of itself, as its first poll read it."""

    format: str = Field(description="The adapter that read it (`guardian`, `jsonld`, `syndication`…).")
    title: str | None = Field(None, description="The live blog's title, when the document gives one.")
    updates: int = Field(ge=0, description="Updates read from it, before any were stored.")


class Timeline(_Frozen):
    id: str
    slug: str
    title: str
    status: Literal["live", "ended"] = "live"
    created_at: UTCDateTime
    last_seq: int = Field(0, description="Seq of the timeline's latest change; 0 when it has none.")
    events: int = Field(0, ge=0, description="Events the public reads: neither deleted nor hidden.")
    last_event_at: UTCDateTime | None = Field(
        None, description="Publication time of the newest of those events; null when there are none."
    )
    editorial_source: str = Field(
        "", description="The `source_id` of the editors' own posts, which is never among `sources`."
    )
    sources: tuple[Source, ...] = ()


WebhookState = Literal["active", "failing", "disabled"]
ChangeKind = Literal["upsert", "delete"]


class WebhookHealth(_Frozen):
    state: WebhookState = Field(
        description="`active`: delivering; `failing`: retrying a failed delivery; `disabled`: not "
        "delivering until re-enabled (`reason` says why)."
    )
    last_success_at: UTCDateTime | None = None
    last_failure_at: UTCDateTime | None = None
    last_failure: Redacted | None = Field(None, description="Why the last failed delivery failed.")
    consecutive_failures: int = 0
    next_attempt_at: UTCDateTime | None = Field(None, description="When a failed delivery is retried.")
    reason: Redacted | None = Field(None, description="Why the subscription is disabled, when it is.")


class Webhook(_Frozen):
    """A subscription to a timeline's changes, delivered by HTTP POST. Its secret is never shown again."""

    id: str
    timeline_id: str
    url: Redacted = Field(description="The receiver; credentials in it are shown as `user:***@`.")
    events: tuple[ChangeKind, ...] = Field(description="The kinds of change delivered.")
    key_events_only: bool = Field(
        description="Only upserts of key events (and every deletion: a tombstone does not say)."
    )
    description: str | None = None
    enabled: bool
    created_at: UTCDateTime
    cursor: int = Field(description="Every change up to this seq has been delivered (or filtered out).")
    health: WebhookHealth


class WebhookAttempt(_Frozen):
    """One delivery attempt, as the deliverer recorded it."""

    at: UTCDateTime
    type: Literal["event.upsert", "event.delete", "ping"]
    seq: int | None = Field(description="The change delivered; null for a ping.")
    attempt: int = Field(description="1 for the first try of this change, then 2, 3…")
    status_code: int | None = Field(description="The receiver's answer; null when none came.")
    latency: float | None = Field(description="Seconds until the receiver's answer.")
    error: Redacted | None = Field(description="Why it failed; null on success.")
