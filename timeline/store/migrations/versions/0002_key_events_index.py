"""A partial index for pages of key events.

Revision ID: 0002
Revises: 0001
Created: 2026-11-25

`?key_events=true` pages walked the whole-timeline index and dropped non-key events one heap row at a
time: ~25 rows read per row returned at 4 % key events, more on blogs that flag fewer. This index holds
only live key events (4 MB per million events at 4 %), so such a page reads what it returns. See
docs/postgres.md for the plans. Built in the migration's transaction: it blocks writes to `events` for
about a second per million rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# As `Store.page` writes the condition, so that both planners match the index to the query.
_KEY_EVENTS = sa.column("key_event", sa.Boolean()) & sa.column("deleted", sa.Boolean()).is_(False)


def upgrade() -> None:
    op.create_index(
        "ix_events_key_events",
        "events",
        ["timeline_id", "published_at", "position", "id"],
        sqlite_where=_KEY_EVENTS,
        postgresql_where=_KEY_EVENTS,
    )


def downgrade() -> None:
    op.drop_index("ix_events_key_events", table_name="events")
