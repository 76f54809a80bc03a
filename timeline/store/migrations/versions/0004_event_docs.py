"""Keep each event's API JSON in its row (`events.doc`), so reads serve stored bytes.

Revision ID: 0004
Revises: 0003
Created: 2026-11-25

Existing events are rendered here, in batches, with the renderer of this version. A later change to the
event's JSON shape must render them again in a migration of its own, as this one does.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from timeline.store import _rows
from timeline.store.tables import events

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 2_000
log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("doc", sa.Text(), nullable=True))
    if not op.get_context().as_sql:  # a SQL script leaves them NULL: readers render those themselves
        render_docs(op.get_bind())


def render_docs(conn: sa.Connection) -> None:
    """Fill `doc` of every event, in batches by id, logging progress on large databases."""
    # Only the columns the renderer reads, so that later columns of `events` do not break this revision.
    rows = sa.table("events", *(sa.column(name, events.c[name].type) for name in _rows.EVENT_COLUMNS))
    total = conn.scalar(sa.select(sa.func.count()).select_from(rows)) or 0
    docs = sa.table("events", sa.column("id"), sa.column("doc"))
    fill = sa.update(docs).where(docs.c.id == sa.bindparam("b_id"))
    done, last = 0, ""
    while batch := conn.execute(
        sa.select(rows).where(rows.c.id > last).order_by(rows.c.id).limit(BATCH)
    ).all():
        conn.execute(fill, [{"b_id": row.id, "doc": _rows.doc(row._mapping)} for row in batch])
        done, last = done + len(batch), batch[-1].id
        if total > 10 * BATCH and done % (25 * BATCH) < BATCH:
            log.info("rendering event docs: %s/%s", f"{done:,}", f"{total:,}")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("doc")
