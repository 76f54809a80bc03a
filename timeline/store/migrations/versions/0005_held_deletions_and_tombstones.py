"""Keep the mass deletions `apply` holds back on the source row; deleted events' JSON becomes a tombstone.

Revision ID: 0005
Revises: 0004
Created: 2026-11-26

The `held_*` columns of `sources` start NULL: nothing is held. The stored JSON of every deleted event is
rendered again as the tombstone public reads now serve (id, seq, `deleted`, published_at, position),
without the content, which its columns keep for keyed reads. In batches by id, like 0004. Going back
drops the columns and clears those docs: the older version renders a missing doc itself, in its shape.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from timeline.store import _rows
from timeline.store.tables import UTCMicros

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 2_000
log = logging.getLogger("alembic.runtime.migration")
_HOLD = (
    ("held_digest", sa.Text()),
    ("held_listed", sa.Integer()),
    ("held_live", sa.Integer()),
    ("held_since", sa.BigInteger()),
    ("held_seen", sa.Integer()),
)
# Only the columns a tombstone reads, so that later columns of `events` do not break this revision.
_EVENTS = sa.table(
    "events",
    sa.column("id", sa.Text()),
    sa.column("seq", sa.BigInteger()),
    sa.column("published_at", UTCMicros()),
    sa.column("position", sa.BigInteger()),
    sa.column("deleted", sa.Boolean()),
    sa.column("doc", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        for name, kind in _HOLD:
            batch.add_column(sa.Column(name, kind, nullable=True))
    if op.get_context().as_sql:  # a SQL script cannot render: readers render the missing docs themselves
        op.execute(_clear_tombstone_docs())
    else:
        render_tombstones(op.get_bind())


def render_tombstones(conn: sa.Connection) -> None:
    """Replace the doc of every deleted event with its tombstone, in batches by id."""
    gone = _EVENTS.c.deleted.is_(True)
    total = conn.scalar(sa.select(sa.func.count()).select_from(_EVENTS).where(gone)) or 0
    placed = (_EVENTS.c.id, _EVENTS.c.seq, _EVENTS.c.published_at, _EVENTS.c.position)
    fill = sa.update(_EVENTS).where(_EVENTS.c.id == sa.bindparam("b_id"))
    done, last = 0, ""
    while batch := conn.execute(
        sa.select(*placed).where(gone, _EVENTS.c.id > last).order_by(_EVENTS.c.id).limit(BATCH)
    ).all():
        docs = [{"b_id": row.id, "doc": _rows.unpublished_doc(*row)} for row in batch]
        conn.execute(fill, docs)
        done, last = done + len(batch), batch[-1].id
        if total > 10 * BATCH and done % (25 * BATCH) < BATCH:
            log.info("rendering tombstones: %s/%s", f"{done:,}", f"{total:,}")


def _clear_tombstone_docs() -> sa.Update:
    return sa.update(_EVENTS).where(_EVENTS.c.deleted.is_(True)).values(doc=None)


def downgrade() -> None:
    op.execute(_clear_tombstone_docs())
    with op.batch_alter_table("sources") as batch:
        for name, _ in reversed(_HOLD):
            batch.drop_column(name)
