"""Initial schema: seq counter, timelines, sources, events, event revisions.

Revision ID: 0001
Revises:
Created: 2024-11-25

Datetimes are BIGINT microseconds since the epoch (UTC); list fields are JSON text (see tables.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _content() -> list[sa.Column[Any]]:
    return [
        sa.Column("url", sa.Text()),
        sa.Column("published_at", sa.BigInteger(), nullable=False),
        sa.Column("time_estimated", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.BigInteger()),
        sa.Column("title", sa.Text()),
        sa.Column("summary", sa.Text()),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("key_event", sa.Boolean(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("authors", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("media", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
    ]


def _seq_counter() -> None:
    counter = op.create_table(
        "seq_counter",
        sa.Column("id", sa.Integer(), autoincrement=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_seq_counter"),
    )
    op.bulk_insert(counter, [{"id": 1, "last_seq": 0}])


def _timelines() -> None:
    op.create_table(
        "timelines",
        sa.Column("id", sa.Text()),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_timelines"),
        sa.UniqueConstraint("slug", name="uq_timelines_slug"),
    )


def _sources() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Text()),
        sa.Column("timeline_id", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("adapter", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("body_hash", sa.Text()),
        sa.Column("next_poll_at", sa.BigInteger()),
        sa.Column("interval_seconds", sa.Float()),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error_kind", sa.Text()),
        sa.Column("last_error_message", sa.Text()),
        sa.Column("last_error_at", sa.BigInteger()),
        sa.Column("last_success_at", sa.BigInteger()),
        sa.Column("last_change_at", sa.BigInteger()),
        sa.Column("ended_at", sa.BigInteger()),
        sa.Column("lease_owner", sa.Text()),
        sa.Column("lease_until", sa.BigInteger()),
        sa.Column("snapshot_digest", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.ForeignKeyConstraint(
            ["timeline_id"], ["timelines.id"], name="fk_sources_timeline_id", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("timeline_id", "url", name="uq_sources_timeline_id_url"),
    )
    op.create_index("ix_sources_next_poll_at", "sources", ["next_poll_at"])


def _events() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Text()),
        sa.Column("timeline_id", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("upstream_id", sa.Text(), nullable=False),
        *_content(),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(
            ["timeline_id"], ["timelines.id"], name="fk_events_timeline_id", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("source_id", "upstream_id", name="uq_events_source_id_upstream_id"),
    )
    op.create_index("ix_events_timeline_id_seq", "events", ["timeline_id", "seq"])
    op.create_index(
        "ix_events_timeline_id_published_at_position_id",
        "events",
        ["timeline_id", "published_at", "position", "id"],
    )
    pinned = sa.column("pinned").is_(True) & sa.column("deleted").is_(False)
    op.create_index(
        "ix_events_pinned",
        "events",
        ["timeline_id", "published_at", "position", "id"],
        sqlite_where=pinned,
        postgresql_where=pinned,
    )


def _event_revisions() -> None:
    op.create_table(
        "event_revisions",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        *_content(),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "revision", name="pk_event_revisions"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_event_revisions_event_id", ondelete="CASCADE"
        ),
    )


def upgrade() -> None:
    _seq_counter()
    _timelines()
    _sources()
    _events()
    _event_revisions()


def downgrade() -> None:
    for table in ("event_revisions", "events", "sources", "timelines", "seq_counter"):
        op.drop_table(table)
