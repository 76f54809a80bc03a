"""The schema, as SQLAlchemy Core tables. Migrations (`migrations/versions/`) must match it.

Datetimes are stored as integer microseconds since the Unix epoch (UTC) on both backends: SQLite has no
datetime type, and integers order and compare the same everywhere, like the cursors of `timeline.ids`.
List fields (authors, tags, media) are JSON text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(value: datetime) -> int:
    """Exact integer microseconds since the epoch; naive datetimes are refused, never guessed."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store only takes aware (UTC) datetimes")
    return (value - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class UTCMicros(TypeDecorator[datetime]):
    """An aware datetime, stored as BIGINT microseconds since the epoch and read back in UTC."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(value)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# One row (id = 1): the global seq. Writers bump it late in their transaction; its row lock orders
# concurrent writers on PostgreSQL so seqs become visible in commit order.
seq_counter = Table(
    "seq_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
)

timelines = Table(
    "timelines",
    metadata,
    Column("id", Text, primary_key=True),
    Column("slug", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", UTCMicros, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Text, primary_key=True),
    Column("timeline_id", Text, ForeignKey("timelines.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("adapter", Text, nullable=False),
    Column("created_at", UTCMicros, nullable=False),
    # Poll state, written by the poller (see PollState).
    Column("status", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", Text),
    Column("next_poll_at", UTCMicros),
    Column("interval_seconds", Float),
    Column("consecutive_failures", Integer, nullable=False),
    Column("consecutive_missing", Integer, nullable=False, server_default="0"),  # 404/410s in a row
    Column("last_error_kind", Text),
    Column("last_error_message", Text),
    Column("last_error_at", UTCMicros),
    Column("last_success_at", UTCMicros),
    Column("last_change_at", UTCMicros),
    Column("ended_at", UTCMicros),
    Column("coverage_start", UTCMicros),  # declared by the source (JSON-LD coverageStartTime)
    Column("coverage_end", UTCMicros),
    Column("lease_owner", Text),
    Column("lease_until", UTCMicros),
    # Fingerprint of the drafts of the last `apply` that changed something (see _plan.fingerprint).
    # Whatever else changes a source's events must set it to NULL.
    Column("snapshot_digest", Text),
    # A mass deletion `apply` holds back (see _plan.guard), all NULL when none: the digest of the listed
    # ids, how many were listed of how many live events, when that list was first seen and on how many
    # applies in a row. Written by `apply` only: the poller's state (PollState) leaves these alone.
    Column("held_digest", Text),
    Column("held_listed", Integer),
    Column("held_live", Integer),
    Column("held_since", UTCMicros),
    Column("held_seen", Integer),
    UniqueConstraint("timeline_id", "url"),
    Index(None, "next_poll_at"),
)

# Reader-visible content of an event, shared by `events` and `event_revisions`.
CONTENT_COLUMNS = (
    "url",
    "published_at",
    "time_estimated",
    "updated_at",
    "title",
    "summary",
    "body_html",
    "body_text",
    "key_event",
    "pinned",
    "authors",
    "tags",
    "media",
    "position",
    "content_hash",
    "hidden",
    "note",
)


def _content() -> list[Column[Any]]:
    return [
        Column("url", Text),
        Column("published_at", UTCMicros, nullable=False),
        Column("time_estimated", Boolean, nullable=False),
        Column("updated_at", UTCMicros),
        Column("title", Text),
        Column("summary", Text),
        Column("body_html", Text, nullable=False),
        Column("body_text", Text, nullable=False),
        Column("key_event", Boolean, nullable=False),
        Column("pinned", Boolean, nullable=False),
        Column("authors", Text, nullable=False),
        Column("tags", Text, nullable=False),
        Column("media", Text, nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("content_hash", Text, nullable=False),
        # The editors' part of what a reader sees (see `_editorial`): hidden (the public gets a tombstone),
        # and a note shown with the event.
        Column("hidden", Boolean, nullable=False, server_default=false()),
        Column("note", Text),
    ]


# The latest state of each event; `seq` is the seq of its latest change, so "changes since N" is a range
# scan on (timeline_id, seq). `source_id` has no foreign key: removing a source leaves its tombstones, and
# the editorial source of a timeline (its editors' posts) has no row in `sources` at all.
# The content columns hold what readers see: the source's content with the editors' overrides applied.
events = Table(
    "events",
    metadata,
    Column("id", Text, primary_key=True),
    Column("timeline_id", Text, ForeignKey("timelines.id", ondelete="CASCADE"), nullable=False),
    Column("source_id", Text, nullable=False),
    Column("upstream_id", Text, nullable=False),
    *_content(),
    # The editors' overrides, NULL for "as the source says" (`hidden` and `note` are in the content).
    Column("pinned_override", Boolean),
    Column("key_event_override", Boolean),
    Column("title_override", Text),
    # What the source itself says of the overridable fields, for when an override is cleared.
    Column("source_title", Text),
    Column("source_pinned", Boolean, nullable=False, server_default=false()),
    Column("source_key_event", Boolean, nullable=False, server_default=false()),
    # The hash of the update as the source last sent it, before normalization (`normalize.raw_hash`):
    # a poll skips normalizing the updates whose hash it finds here. NULL in rows written before it was
    # kept.
    Column("raw_hash", Text),
    Column("revision", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("seq", BigInteger, nullable=False),
    # The event as the API serves it (JSON), rendered by every write of the row, so reads build no
    # models. NULL only in rows an older version wrote; readers render those from the columns.
    Column("doc", Text),
    UniqueConstraint("source_id", "upstream_id"),
    Index(None, "timeline_id", "seq"),
    Index(None, "timeline_id", "published_at", "position", "id"),
)
# What the public may read: neither deleted nor hidden. Every public listing filters on it.
LISTED = events.c.deleted.is_(False) & events.c.hidden.is_(False)
# Pinned events are few: a partial index finds them without walking the whole timeline. Its condition
# is written as `Store.pinned` queries it, so SQLite's planner can match the two.
PINNED = events.c.pinned.is_(True) & LISTED
Index(
    "ix_events_pinned",
    *(events.c[name] for name in ("timeline_id", "published_at", "position", "id")),
    sqlite_where=PINNED,
    postgresql_where=PINNED,
)
# Pages of key events read this one (migration 0002, 0006): only listed key events, in page order.
KEY_EVENTS = events.c.key_event & LISTED
Index(
    "ix_events_key_events",
    *(events.c[name] for name in ("timeline_id", "published_at", "position", "id")),
    sqlite_where=KEY_EVENTS,
    postgresql_where=KEY_EVENTS,
)

# What a poll reads of a source's events, all in the index: the raw hashes of its live events (before
# parsing) and the state `apply` plans from. Read from the rows, SQLite walks each row's overflow pages
# past its body and doc to reach them: several times slower on a long blog's re-poll.
SOURCE_STATE = ("source_id", "deleted", "raw_hash", "id", "content_hash", "revision", "published_at")
Index("ix_events_source_state", *(events.c[name] for name in SOURCE_STATE))

# Every version of every event as readers saw it (overrides applied), the current one included; `editor`
# names the key that made a version, NULL when the source did.
event_revisions = Table(
    "event_revisions",
    metadata,
    Column("event_id", Text, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    *_content(),
    Column("recorded_at", UTCMicros, nullable=False),
    Column("editor", Text),
    PrimaryKeyConstraint("event_id", "revision"),
)

# Every editorial action, under the seq of the change it made: who (the key's name), when, on which event,
# and what changed (JSON: field → [before, after]). Newest first is a scan of (timeline_id, seq) backwards.
editorial_actions = Table(
    "editorial_actions",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("timeline_id", Text, ForeignKey("timelines.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", Text, nullable=False),
    Column("editor", Text, nullable=False),
    Column("at", UTCMicros, nullable=False),
    Column("action", Text, nullable=False),
    Column("changes", Text, nullable=False),
    Index(None, "timeline_id", "seq"),
)

# Subscriptions to a timeline's changes, delivered to `url` by the webhook deliverer. `cursor` is the seq up
# to which every change has been delivered or filtered out: delivery resumes after it, after any crash.
# `secret` signs deliveries; after a rotation `previous_secret` signs them too until `previous_until`,
# so receivers can switch over. The failure columns are the deliverer's bookkeeping, and the lease keeps
# two deliverers off one subscription, as sources' leases keep two pollers off one source.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Text, primary_key=True),
    Column("timeline_id", Text, ForeignKey("timelines.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    Column("previous_until", UTCMicros),
    Column("events", Text, nullable=False),  # JSON list of change kinds: ["upsert", "delete"]
    Column("key_events_only", Boolean, nullable=False),
    Column("description", Text),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCMicros, nullable=False),
    Column("cursor", BigInteger, nullable=False),
    Column("ping_requested", Boolean, nullable=False),
    Column("last_success_at", UTCMicros),
    Column("last_failure_at", UTCMicros),
    Column("last_failure", Text),
    Column("consecutive_failures", Integer, nullable=False),
    Column("failing_since", UTCMicros),  # the first failure of the current run: the retry window's start
    Column("next_attempt_at", UTCMicros),
    Column("disabled_reason", Text),
    Column("lease_owner", Text),
    Column("lease_until", UTCMicros),
    Index(None, "timeline_id"),
)

# Recent delivery attempts of each subscription (the deliverer keeps the newest `ATTEMPTS_KEPT`).
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", Text, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCMicros, nullable=False),
    Column("type", Text, nullable=False),
    Column("seq", BigInteger),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),
    Column("latency", Float),
    Column("error", Text),
    Index(None, "webhook_id", "id"),
)
