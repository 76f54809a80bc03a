"""Editors' writes: posts of a timeline's own, overrides on any event, deletions; and the audit log.

Each is one transaction that reads the event as it is, decides in pure code (`_editorial`), then writes
the event's columns, its public JSON, a revision made by the editor and an audit entry under one new seq,
which the store reports once committed like any write. An edit of an ingested event first locks its
source's row, as `apply` does, so a poll and an editor never plan from the same state: the poll that
follows an override renders the event with it, and an override that follows a poll overlays the new
content. Editorial posts have no source row (they are never polled); their own row is locked instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Row, insert, select, update

from timeline.errors import EventNotFoundError
from timeline.ids import editorial_source_id, new_id
from timeline.models import EditedEvent, Media
from timeline.store import _rows
from timeline.store._base import StoreBase, timeline_must_exist, wrap_errors
from timeline.store._editorial import (
    Changes,
    Current,
    Edit,
    Post,
    Sourced,
    decide_delete,
    decide_edit,
    post_changes,
    post_draft,
    post_of,
    shown,
)
from timeline.store._writes import advance, allocate, insert_events, revision_row
from timeline.store.tables import CONTENT_COLUMNS, editorial_actions, event_revisions, events, sources
from timeline.store.types import AuditEntry, AuditPage, FieldChange


class EditingMixin(StoreBase):
    @wrap_errors
    async def post_event(self, timeline_id: str, post: Post, *, editor: str, now: datetime) -> EditedEvent:
        """A new editorial post: an event of the timeline's editorial source, sanitized, identified and
        ordered as any update is, at revision 1. `editor` is the name of the key that posted it. Raises
        `TimelineNotFoundError`."""

        def work(conn: Connection) -> EditedEvent:
            timeline_must_exist(conn, timeline_id)
            draft = post_draft(editorial_source_id(timeline_id), new_id("post"), post, now=now, edited=False)
            seq = allocate(conn, 1)
            insert_events(conn, timeline_id, [draft], iter([seq]), now, editor=editor)
            _audit(conn, seq, timeline_id, draft.id, editor, now, "post", post_changes(post_of(draft)))
            advance(conn, timeline_id, seq)
            return _edited(conn, timeline_id, draft.id)

        return await self._write(work)

    @wrap_errors
    async def edit_event(
        self, timeline_id: str, event_id: str, patch: Mapping[str, Any], *, editor: str, now: datetime
    ) -> EditedEvent:
        """Apply `patch` (the fields an editor gives: overrides, or a post's content; None clears) to an
        event; the event as it is afterwards. A patch that changes nothing writes nothing. Raises
        `EventNotFoundError`, `EventDeletedError` and `SourcedContentError` (see `_editorial`)."""
        return await self._write(lambda conn: _change(conn, timeline_id, event_id, patch, editor, now))

    @wrap_errors
    async def delete_event(
        self, timeline_id: str, event_id: str, *, editor: str, now: datetime
    ) -> EditedEvent:
        """Delete an editorial post, or hide an ingested event; the event as it is afterwards. Deleting
        what is deleted (or hidden) again writes nothing. Raises `EventNotFoundError`, and
        `EventDeletedError` for an ingested event its source deleted."""
        return await self._write(lambda conn: _change(conn, timeline_id, event_id, None, editor, now))

    @wrap_errors
    async def audit(self, timeline_id: str, *, before: int | None = None, limit: int = 50) -> AuditPage:
        """Editorial actions on the timeline, newest first, those before seq `before` when given. Raises
        `TimelineNotFoundError`."""
        if limit < 1:
            raise ValueError("audit needs limit >= 1")
        query = select(editorial_actions).where(editorial_actions.c.timeline_id == timeline_id)
        if before is not None:
            query = query.where(editorial_actions.c.seq < before)
        query = query.order_by(editorial_actions.c.seq.desc()).limit(limit + 1)

        def read(conn: Connection) -> list[Row[Any]]:
            rows = list(conn.execute(query))
            if not rows:
                timeline_must_exist(conn, timeline_id)
            return rows

        rows = await self._read(read)
        entries = [_entry(row) for row in rows[:limit]]
        return AuditPage(entries, entries[-1].seq if len(rows) > limit else None)


def _change(
    conn: Connection,
    timeline_id: str,
    event_id: str,
    patch: Mapping[str, Any] | None,
    editor: str,
    now: datetime,
) -> EditedEvent:
    """Edit (with `patch`) or delete (without) one event, as decided from its locked row."""
    row, editorial = _locked(conn, timeline_id, event_id)
    current = Current(event_id, row.deleted, _rows.overrides(row._mapping), _post(row) if editorial else None)
    edit = decide_delete(current) if patch is None else decide_edit(current, patch)
    if edit is not None:
        seq = allocate(conn, 1)
        _write_edit(conn, row, edit, seq, editor, now)
        _audit(conn, seq, timeline_id, event_id, editor, now, edit.action, edit.changes)
        advance(conn, timeline_id, seq)
    return _edited(conn, timeline_id, event_id)


def _locked(conn: Connection, timeline_id: str, event_id: str) -> tuple[Row[Any], bool]:
    """The event's row, locked with its source's (PostgreSQL; SQLite has one writer anyway), and whether
    it is an editorial post. Raises `EventNotFoundError`."""
    mine = (events.c.timeline_id == timeline_id, events.c.id == event_id)
    source_id = conn.scalar(select(events.c.source_id).where(*mine))
    if source_id is None:
        raise EventNotFoundError(event_id)
    editorial = source_id == editorial_source_id(timeline_id)
    if not editorial:  # a detached source has no row: then its events are all deleted
        conn.execute(select(sources.c.id).where(sources.c.id == source_id).with_for_update())
    return conn.execute(select(events).where(*mine).with_for_update()).one(), editorial


def _post(row: Row[Any]) -> Post:
    """An editorial post's content as stored (its title and flags are its own: never overridden)."""
    return Post(
        body_html=row.body_html,
        published_at=row.published_at,
        title=row.source_title,
        key_event=row.source_key_event,
        pinned=row.source_pinned,
        authors=tuple(orjson.loads(row.authors)),
        media=tuple(Media(**item) for item in orjson.loads(row.media)),
    )


def _write_edit(conn: Connection, row: Row[Any], edit: Edit, seq: int, editor: str, now: datetime) -> None:
    """The event after `edit`, under `seq`: its columns and doc, and (unless deleted) a revision."""
    if edit.deleted:
        doc = _rows.unpublished_doc(row.id, seq, row.published_at, row.position)
        conn.execute(update(events).where(events.c.id == row.id).values(deleted=True, seq=seq, doc=doc))
        return
    values = {**_content(row, edit, now), **_rows.override_values(edit.overrides)}
    values.update(revision=row.revision + 1, seq=seq)
    merged = {**row._mapping, **values}
    values["doc"] = _rows.doc(merged)
    conn.execute(update(events).where(events.c.id == row.id).values(values))
    body = {name: merged[name] for name in CONTENT_COLUMNS}
    conn.execute(
        insert(event_revisions).values(revision_row(row.id, row.revision + 1, seq, body, now, editor))
    )


def _content(row: Row[Any], edit: Edit, now: datetime) -> dict[str, Any]:
    """The columns an edit rewrites: a post's whole content, or an ingested event's overridable fields
    (from what its source says, kept beside them) with its new overrides on top."""
    if edit.post is not None:
        draft = post_draft(row.source_id, row.upstream_id, edit.post, now=now, edited=True)
        return {**_rows.content(draft, draft.published_at, edit.overrides), **_rows.sourced_values(draft)}
    source = Sourced(row.source_title, row.source_pinned, row.source_key_event)
    title, pinned, key_event = shown(source, edit.overrides)
    hidden, note = edit.overrides.hidden, edit.overrides.note
    return {"title": title, "pinned": pinned, "key_event": key_event, "hidden": hidden, "note": note}


def _audit(
    conn: Connection,
    seq: int,
    timeline_id: str,
    event_id: str,
    editor: str,
    now: datetime,
    action: str,
    changes: Changes,
) -> None:
    text = orjson.dumps({name: {"before": b, "after": a} for name, (b, a) in changes.items()}).decode()
    entry = {"timeline_id": timeline_id, "event_id": event_id, "editor": editor, "at": now, "action": action}
    conn.execute(insert(editorial_actions).values(seq=seq, changes=text, **entry))


def _entry(row: Row[Any]) -> AuditEntry:
    changes = {name: FieldChange(**change) for name, change in orjson.loads(row.changes).items()}
    return AuditEntry(
        seq=row.seq, at=row.at, editor=row.editor, event_id=row.event_id, action=row.action, changes=changes
    )


def _edited(conn: Connection, timeline_id: str, event_id: str) -> EditedEvent:
    row = conn.execute(select(events).where(events.c.id == event_id)).one()
    return _rows.edited(row, editorial=row.source_id == editorial_source_id(timeline_id))
