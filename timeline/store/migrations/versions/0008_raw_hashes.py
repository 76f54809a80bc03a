"""Keep beside each event the hash of its update as the source sent it, before normalization.

Revision ID: 0008
Revises: 0007
Created: 2026-12-07

A poll hands the hashes of a source's live events to the parser, which then sanitizes and renders only
the updates whose hash it does not know: an unchanged update costs a hash, not a normalization. Existing
events start with none, so the next poll of each source normalizes all its updates once and fills them in,
writing no revision where nothing changed.

The index holds all a poll reads of a source's events (its live raw hashes, and the state `apply` plans
from), so those reads never touch the rows themselves, whose bodies spill onto overflow pages.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


_STATE = ["source_id", "deleted", "raw_hash", "id", "content_hash", "revision", "published_at"]


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("raw_hash", sa.Text(), nullable=True))
    op.create_index("ix_events_source_state", "events", _STATE)


def downgrade() -> None:
    op.drop_index("ix_events_source_state", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("raw_hash")
