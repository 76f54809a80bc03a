"""The editorial layer: overrides beside each event, who made each version, and the audit log.

Revision ID: 0006
Revises: 0005
Created: 2026-12-07

`events` gains the editors' overrides (`hidden`, `note`, and `pinned`/`key_event`/`title` overrides,
NULL for none) and the source's own title and flags (copied from the columns, which from now on hold what
readers see, overrides applied); `event_revisions` gains `hidden`, `note` and `editor` (NULL: the source
made the version); `editorial_actions` is new. The public JSON of every live event gains `note` and
`hidden`, so the docs of live events are rendered again, in batches by id as in 0004; tombstones keep
theirs. The pinned and key-event indexes leave hidden events out, as pages do.

Going back drops all of it: hidden events are published again, titles and flags are the source's, editorial
posts stay as events of a source that no longer exists, and the docs of live events are cleared (the older
version renders a missing doc itself, in its own shape).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from timeline.store import _rows
from timeline.store.tables import events as current_events

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 2_000
log = logging.getLogger("alembic.runtime.migration")
_INDEXED = ["timeline_id", "published_at", "position", "id"]
# This revision's own view of `events`, so that later columns do not break it.
_EVENTS = sa.table(
    "events",
    *(sa.column(name, current_events.c[name].type) for name in (*_rows.EVENT_COLUMNS, "hidden", "note")),
    sa.column("doc", sa.Text()),
    sa.column("source_title", sa.Text()),
    sa.column("source_pinned", sa.Boolean()),
    sa.column("source_key_event", sa.Boolean()),
)


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())


def upgrade() -> None:
    _drop_indexes()
    with op.batch_alter_table("events") as batch:
        batch.add_column(_flag("hidden"))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("pinned_override", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("key_event_override", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("title_override", sa.Text(), nullable=True))
        batch.add_column(sa.Column("source_title", sa.Text(), nullable=True))
        batch.add_column(_flag("source_pinned"))
        batch.add_column(_flag("source_key_event"))
    with op.batch_alter_table("event_revisions") as batch:
        batch.add_column(_flag("hidden"))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("editor", sa.Text(), nullable=True))
    op.execute(
        sa.update(_EVENTS).values(
            source_title=_EVENTS.c.title,
            source_pinned=_EVENTS.c.pinned,
            source_key_event=_EVENTS.c.key_event,
        )
    )
    _create_audit()
    _create_indexes(hidden=True)
    if op.get_context().as_sql:  # a SQL script cannot render: readers render the missing docs themselves
        op.execute(sa.update(_EVENTS).where(_EVENTS.c.deleted.is_(False)).values(doc=None))
    else:
        render_live_docs(op.get_bind())


def _create_audit() -> None:
    op.create_table(
        "editorial_actions",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("timeline_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("editor", sa.Text(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["timeline_id"],
            ["timelines.id"],
            name="fk_editorial_actions_timeline_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_editorial_actions"),
    )
    op.create_index("ix_editorial_actions_timeline_id_seq", "editorial_actions", ["timeline_id", "seq"])


def _drop_indexes() -> None:
    op.drop_index("ix_events_pinned", table_name="events")
    op.drop_index("ix_events_key_events", table_name="events")


def _create_indexes(*, hidden: bool) -> None:
    """The partial indexes of pinned events and of key events, their conditions written as the store's
    queries write them (`tables.PINNED`, `tables.KEY_EVENTS`), so both planners match them."""
    listed: sa.ColumnElement[bool] = sa.column("deleted", sa.Boolean()).is_(False)
    if hidden:
        listed = listed & sa.column("hidden", sa.Boolean()).is_(False)
    pinned = sa.column("pinned", sa.Boolean()).is_(True) & listed
    key_events = sa.column("key_event", sa.Boolean()) & listed
    for name, where in (("ix_events_pinned", pinned), ("ix_events_key_events", key_events)):
        op.create_index(name, "events", _INDEXED, sqlite_where=where, postgresql_where=where)


def render_live_docs(conn: sa.Connection) -> None:
    """Render the doc of every live event again (now with `note` and `hidden`), in batches by id."""
    live = _EVENTS.c.deleted.is_(False)
    total = conn.scalar(sa.select(sa.func.count()).select_from(_EVENTS).where(live)) or 0
    columns = [_EVENTS.c[name] for name in (*_rows.EVENT_COLUMNS, "hidden", "note")]
    fill = sa.update(_EVENTS).where(_EVENTS.c.id == sa.bindparam("b_id"))
    done, last = 0, ""
    while batch := conn.execute(
        sa.select(*columns).where(live, _EVENTS.c.id > last).order_by(_EVENTS.c.id).limit(BATCH)
    ).all():
        conn.execute(fill, [{"b_id": row.id, "doc": _rows.doc(row._mapping)} for row in batch])
        done, last = done + len(batch), batch[-1].id
        if total > 10 * BATCH and done % (25 * BATCH) < BATCH:
            log.info("rendering event docs: %s/%s", f"{done:,}", f"{total:,}")


def downgrade() -> None:
    op.execute(
        sa.update(_EVENTS).values(
            title=_EVENTS.c.source_title,
            pinned=_EVENTS.c.source_pinned,
            key_event=_EVENTS.c.source_key_event,
        )
    )
    op.execute(sa.update(_EVENTS).where(_EVENTS.c.deleted.is_(False)).values(doc=None))
    _drop_indexes()
    op.drop_index("ix_editorial_actions_timeline_id_seq", table_name="editorial_actions")
    op.drop_table("editorial_actions")
    with op.batch_alter_table("event_revisions") as batch:
        for name in ("editor", "note", "hidden"):
            batch.drop_column(name)
    with op.batch_alter_table("events") as batch:
        for name in (
            "source_key_event",
            "source_pinned",
            "source_title",
            "title_override",
            "key_event_override",
            "pinned_override",
            "note",
            "hidden",
        ):
            batch.drop_column(name)
    _create_indexes(hidden=False)
