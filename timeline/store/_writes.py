"""Writing events under fresh seqs: what `apply`, detaching a source, timeline changes and editors' changes
share. Every seq is taken here (`allocate`) and every timeline's seq moved here (`advance`), inside the
write transaction that the store reports once committed (see `Store`).

On PostgreSQL the seq counter's row stays locked from `allocate` to the commit, so writers that take seqs
queue there. Every writer that also changes a source's events locks that source's row first (`apply`,
detaching it, editors' changes to its events, a timeline's status change), and the timeline's row last
(`advance`): one order for all, so they wait for each other and never deadlock."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, Table, bindparam, insert, select, update

from timeline.models import EventDraft, Overrides
from timeline.store import _driver, _rows
from timeline.store._base import took
from timeline.store._editorial import NO_OVERRIDES
from timeline.store._plan import Plan, Rewrite
from timeline.store.tables import event_revisions, events, seq_counter, timelines
from timeline.store.types import Committed

BY_ID = events.c.id == bindparam("b_id")  # `id` itself is a column name, so the key must differ
CHUNK = 500  # ids per `IN (…)`: SQLite's limit on bound parameters was 999 before 3.32


def write(conn: Connection, timeline_id: str, todo: Plan, now: datetime) -> int:
    """Carry out `todo` under fresh seqs, in the order inserts, rewrites, tombstones; the last seq."""
    first = allocate(conn, len(todo))
    seqs = itertools.count(first)
    insert_events(conn, timeline_id, todo.inserts, seqs, now)
    _rewrite(conn, timeline_id, todo.rewrites, seqs, now)
    _tombstone(conn, todo.deletions, seqs)
    last = first + len(todo) - 1
    advance(conn, timeline_id, last)
    return last


def touch(conn: Connection, timeline_id: str) -> int:
    """Give the timeline a new seq of its own (its title or status changed); the seq."""
    last = allocate(conn, 1)
    advance(conn, timeline_id, last)
    return last


def advance(conn: Connection, timeline_id: str, last_seq: int) -> None:
    """Move the timeline to `last_seq`, which this transaction took: the one way a timeline's seq moves,
    so that every such write is reported once it commits (`took`)."""
    conn.execute(update(timelines).where(timelines.c.id == timeline_id).values(last_seq=last_seq))
    took(conn, Committed(timeline_id, last_seq))


def allocate(conn: Connection, count: int) -> int:
    """Take `count` seqs; the first. The counter row stays locked until commit (PostgreSQL), so a
    later seq can never become visible before an earlier one."""
    bump = (
        update(seq_counter)
        .where(seq_counter.c.id == 1)
        .values(last_seq=seq_counter.c.last_seq + count)
        .returning(seq_counter.c.last_seq)
    )
    last: int = (conn.execute(bump)).scalar_one()
    return last - count + 1


def revision_row(
    event_id: str, revision: int, seq: int, body: dict[str, Any], now: datetime, editor: str | None = None
) -> dict[str, Any]:
    """A row of `event_revisions`: `body` (the content columns) as of `revision`, made by `editor` (a
    key's name) or by the source (None)."""
    return {
        "event_id": event_id,
        "revision": revision,
        "seq": seq,
        **body,
        "recorded_at": now,
        "editor": editor,
    }


def insert_events(
    conn: Connection,
    timeline_id: str,
    drafts: list[EventDraft],
    seqs: Iterator[int],
    now: datetime,
    *,
    editor: str | None = None,
) -> None:
    """New events from `drafts` at revision 1 (no overrides yet: nobody has seen them), under `seqs`."""
    if not drafts:
        return
    rows, revisions = [], []
    for draft, seq in zip(drafts, seqs, strict=False):
        body = _rows.content(draft, draft.published_at)
        doc = _rows.draft_doc(
            draft, timeline_id=timeline_id, published_at=draft.published_at, revision=1, seq=seq
        )
        origin = {"timeline_id": timeline_id, "source_id": draft.source_id, "upstream_id": draft.upstream_id}
        row = {
            "id": draft.id,
            **origin,
            **body,
            **_rows.sourced_values(draft),
            **_rows.override_values(NO_OVERRIDES),
        }
        rows.append({**row, "revision": 1, "deleted": False, "seq": seq, "doc": doc})
        revisions.append(revision_row(draft.id, 1, seq, body, now, editor))
    insert_many(conn, events, rows)
    insert_many(conn, event_revisions, revisions)


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """What `conn.execute(insert(table), rows)` does, a third faster for large batches: SQLAlchemy builds
    and converts the parameters of an executemany row by row, which took a third of a 10k-event apply."""
    _driver.execute_many(conn, _insert_into(table), rows)


@functools.cache
def _insert_into(table: Table) -> Insert:
    return insert(table)


def _rewrite(
    conn: Connection, timeline_id: str, rewrites: list[Rewrite], seqs: Iterator[int], now: datetime
) -> None:
    """Each rewritten event takes its new content under the overrides editors set on it: they outlast
    every edit of the source, and a revival too."""
    if not rewrites:
        return
    rows, revisions = [], []
    edited = _overrides(conn, [rewrite.draft.id for rewrite in rewrites])
    for (draft, revision, published_at, _), seq in zip(rewrites, seqs, strict=False):
        overrides = edited.get(draft.id, NO_OVERRIDES)
        body = _rows.content(draft, published_at, overrides)
        doc = _rows.draft_doc(
            draft,
            timeline_id=timeline_id,
            published_at=published_at,
            revision=revision,
            seq=seq,
            overrides=overrides,
        )
        changed = {**body, **_rows.sourced_values(draft), "revision": revision, "deleted": False}
        rows.append({"b_id": draft.id, **changed, "seq": seq, "doc": doc})
        revisions.append(revision_row(draft.id, revision, seq, body, now))
    conn.execute(update(events).where(BY_ID), rows)
    insert_many(conn, event_revisions, revisions)


_EDITED = (
    events.c.hidden.is_(True)
    | events.c.note.is_not(None)
    | events.c.pinned_override.is_not(None)
    | events.c.key_event_override.is_not(None)
    | events.c.title_override.is_not(None)
)


def _overrides(conn: Connection, event_ids: list[str]) -> dict[str, Overrides]:
    """The overrides of those of `event_ids` that editors changed: few, so one indexed lookup per chunk.
    (Editors' writes lock the event's source row as `apply` does, so these cannot change meanwhile.)"""
    found: dict[str, Overrides] = {}
    columns = (events.c.id, *(events.c[name] for name in _rows.OVERRIDE_COLUMNS))
    for start in range(0, len(event_ids), CHUNK):
        chunk = event_ids[start : start + CHUNK]
        for row in conn.execute(select(*columns).where(events.c.id.in_(chunk), _EDITED)):
            found[row.id] = _rows.overrides(row._mapping)
    return found


def _tombstone(conn: Connection, event_ids: list[str], seqs: Iterator[int]) -> None:
    """Deletion keeps the event's content and revision (for keyed reads); only `deleted`, `seq` and the
    doc change, the doc becoming the tombstone the public sees."""
    if not event_ids:
        return
    seq_of, rows = dict(zip(event_ids, seqs, strict=False)), []
    placed = (events.c.id, events.c.published_at, events.c.position)
    for start in range(0, len(event_ids), CHUNK):
        chunk = event_ids[start : start + CHUNK]
        for ident, published_at, position in conn.execute(select(*placed).where(events.c.id.in_(chunk))):
            doc = _rows.unpublished_doc(ident, seq_of[ident], published_at, position)
            rows.append({"b_id": ident, "seq": seq_of[ident], "doc": doc})
    conn.execute(update(events).where(BY_ID).values(deleted=True), rows)
