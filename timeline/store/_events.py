"""Reading events: keyset pages, pinned events, one event, its revisions, and changes by seq.

Pages, pinned events, single events and changes are read as the JSON stored with each event (`events.doc`), by
statements run straight on the driver (`_driver.fetch`): the API's hottest reads build no models. The
model-returning methods parse that JSON back, so there is one way to read each.

Deleted means unpublished, and so does hidden (by an editor): the JSON of such an event is a `Tombstone`
(id, seq, ordering time), and its revisions are not read out. Only `full_event`, `edited_event` and
`revisions(unpublished=True)`, for callers holding a key, read its content, from the columns, which keep it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Unpack

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, Connection, Integer, Select, bindparam, select, tuple_

from timeline.errors import EventNotFoundError
from timeline.ids import SortKey, decode_cursor, editorial_source_id, encode_cursor
from timeline.models import Change, EditedEvent, Event, Tombstone
from timeline.store import _driver, _rows
from timeline.store._base import StoreBase, timeline_must_exist, wrap_errors
from timeline.store.tables import LISTED, PINNED, event_revisions, events, from_micros
from timeline.store.types import ChangeDoc, Order, Page, PageOptions, Revision

_KEY = (events.c.published_at, events.c.position, events.c.id)


class EventsMixin(StoreBase):
    @wrap_errors
    async def page_docs(
        self,
        timeline_id: str,
        *,
        order: Order = "desc",
        limit: int = 20,
        before: str | None = None,
        after: str | None = None,
        key_events: bool = False,
        since: datetime | None = None,
    ) -> Page[str]:
        """Up to `limit` live events in `order` of (published_at, position, id), by keyset, as their JSON.

        `after` reads on from a cursor in the reading order, `before` goes back from it (give at most
        one). Tombstones are left out; `key_events` keeps key events only, `since` events published at or
        after that time.
        Raises `TimelineNotFoundError` and `InvalidCursorError`.
        """
        if limit < 1 or (before and after):
            raise ValueError("page needs limit >= 1 and at most one of `before` and `after`")
        window = _Window(timeline_id, order, key_events, since)
        start, end = _decode(before, "before"), _decode(after, "after")

        def read(conn: Connection) -> Page[str]:
            result = window.page(conn, limit, start, end)
            if not result.events:
                timeline_must_exist(conn, timeline_id)
            return result

        return await self._read(read, snapshot=False)  # see `_Window.page`

    async def page(self, timeline_id: str, **options: Unpack[PageOptions]) -> Page[Event]:
        """`page_docs`, as models."""
        found = await self.page_docs(timeline_id, **options)
        return Page([_parse(doc) for doc in found.events], found.next, found.prev)

    @wrap_errors
    async def pinned_docs(self, timeline_id: str) -> list[str]:
        """The live pinned events as their JSON, newest first. Raises `TimelineNotFoundError`."""

        def read(conn: Connection) -> list[str]:
            found = _docs(conn, _driver.fetch(conn, _PINNED, {"timeline_id": timeline_id}))
            if not found:
                timeline_must_exist(conn, timeline_id)
            return found

        return await self._read(read)

    async def pinned(self, timeline_id: str) -> list[Event]:
        """`pinned_docs`, as models."""
        return [_parse(doc) for doc in await self.pinned_docs(timeline_id)]

    @wrap_errors
    async def event_doc(self, timeline_id: str, event_id: str) -> str:
        """One event's public JSON: a `Tombstone` when it is deleted. Raises `EventNotFoundError`."""
        values = {"timeline_id": timeline_id, "event_id": event_id}
        found = await self._read(lambda conn: _docs(conn, _driver.fetch(conn, _ONE, values)))
        if not found:
            raise EventNotFoundError(event_id)
        return found[0]

    async def get_event(self, timeline_id: str, event_id: str) -> Event | Tombstone:
        """`event_doc`, as a model."""
        return _parse_public(await self.event_doc(timeline_id, event_id))

    @wrap_errors
    async def full_event(self, timeline_id: str, event_id: str) -> Event:
        """One event with its content even when it is deleted (`deleted=True`) or hidden (`hidden=True`):
        for keyed reads only. Raises `EventNotFoundError`."""
        query = select(events).where(events.c.timeline_id == timeline_id, events.c.id == event_id)
        found = await self._read(lambda conn: [_rows.event(row) for row in conn.execute(query)])
        if not found:
            raise EventNotFoundError(event_id)
        return found[0]

    @wrap_errors
    async def edited_event(self, timeline_id: str, event_id: str) -> EditedEvent:
        """`full_event` with the editors' overrides, and whether it is an editorial post: what keyed reads
        and editors see. Raises `EventNotFoundError`."""
        query = select(events).where(events.c.timeline_id == timeline_id, events.c.id == event_id)
        rows = await self._read(lambda conn: list(conn.execute(query)))
        if not rows:
            raise EventNotFoundError(event_id)
        return _rows.edited(rows[0], editorial=rows[0].source_id == editorial_source_id(timeline_id))

    @wrap_errors
    async def revisions(
        self, timeline_id: str, event_id: str, *, unpublished: bool = False
    ) -> list[Revision]:
        """Every version of an event, oldest first, the current one included. A deleted or hidden event's
        history is not public: it is read only with `unpublished` (keyed reads, which also learn which key
        made each version), else `EventNotFoundError` as for an unknown event; and the public never
        reads a version made while the event was hidden."""
        origin = (
            events.c.timeline_id,
            events.c.source_id,
            events.c.upstream_id,
            events.c.id,
            events.c.deleted,
            events.c.hidden.label("event_hidden"),
        )
        query = (
            select(event_revisions, *origin)
            .join(events)
            .where(events.c.timeline_id == timeline_id, events.c.id == event_id)
            .order_by(event_revisions.c.revision)
        )
        rows = await self._read(lambda conn: list(conn.execute(query)))
        if not rows:
            raise EventNotFoundError(event_id)
        if unpublished:
            return [_rows.revision(row, public=False) for row in rows]
        if rows[0].deleted or rows[0].event_hidden:
            raise EventNotFoundError(event_id, deleted=True)
        return [_rows.revision(row, public=True) for row in rows if not row.hidden]

    @wrap_errors
    async def change_docs(self, timeline_id: str, since: int, limit: int = 500) -> list[ChangeDoc]:
        """The latest state of every event changed after seq `since`, as its JSON, by ascending seq (at
        most `limit`). An event changed several times appears once, under its latest seq.
        Raises `TimelineNotFoundError`."""
        values = {"timeline_id": timeline_id, "since": since, "limit": limit}

        def read(conn: Connection) -> list[ChangeDoc]:
            rows = _driver.fetch(conn, _CHANGES, values)
            if not rows:
                timeline_must_exist(conn, timeline_id)
            return [
                ChangeDoc(row[4], bool(row[5]), doc) for row, doc in zip(rows, _docs(conn, rows), strict=True)
            ]

        return await self._read(read)

    async def changes(self, timeline_id: str, since: int, limit: int = 500) -> list[Change]:
        """`change_docs`, as models."""
        found = await self.change_docs(timeline_id, since, limit)
        return [Change(seq=c.seq, kind=c.kind, event=_parse_public(c.doc)) for c in found]


def _decode(cursor: str | None, parameter: str) -> SortKey | None:
    return None if cursor is None else decode_cursor(cursor, parameter=parameter)


def _parse(doc: str) -> Event:
    return Event.model_validate_json(doc)


_PUBLIC: TypeAdapter[Event | Tombstone] = TypeAdapter(Event | Tombstone)


def _parse_public(doc: str) -> Event | Tombstone:
    return _PUBLIC.validate_json(doc)


# What doc reads select: raw publication micros, position and id (the sort key), and the JSON.
_DOC_ROW = (*_KEY, events.c.doc)
_ONE = select(*_DOC_ROW).where(
    events.c.timeline_id == bindparam("timeline_id"), events.c.id == bindparam("event_id")
)
_CHANGES = (
    select(*_DOC_ROW, events.c.seq, events.c.deleted | events.c.hidden)
    .where(events.c.timeline_id == bindparam("timeline_id"), events.c.seq > bindparam("since"))
    .order_by(events.c.seq)
    .limit(bindparam("limit", type_=Integer))
)
_PINNED = (
    select(*_DOC_ROW)
    .where(events.c.timeline_id == bindparam("timeline_id"), PINNED)
    .order_by(*(c.desc() for c in _KEY))
)


def _docs(conn: Connection, rows: Sequence[Sequence[Any]]) -> list[str]:
    """The doc of each `_DOC_ROW`; rows an older version wrote without one are rendered here."""
    missing = [row[2] for row in rows if row[3] is None]
    if not missing:
        return [row[3] for row in rows]
    found = conn.execute(select(events).where(events.c.id.in_(missing)))
    rendered = {row.id: _rows.doc(row._mapping) for row in found}
    return [rendered[row[2]] if row[3] is None else row[3] for row in rows]


# Rows before / after a cursor in ascending key order, the cursor's own row left out or not.
Relation = Literal["below", "above", "at_or_below", "at_or_above"]
_AT_OR: dict[Relation, Relation] = {"below": "at_or_below", "above": "at_or_above"}
Selects = Literal["docs", "id"]


@functools.cache
def _window(key_events: bool, since: bool, selects: Selects) -> Select[Any]:
    """One timeline's live events, with every value a bound parameter: built once per shape."""
    query = select(*(_DOC_ROW if selects == "docs" else (events.c.id,))).where(
        events.c.timeline_id == bindparam("timeline_id"), LISTED
    )
    if key_events:
        query = query.where(events.c.key_event)
    return query.where(events.c.published_at >= bindparam("since")) if since else query


def _beyond(relation: Relation) -> ColumnElement[bool]:
    key, cursor = tuple_(*_KEY), tuple_(*(bindparam(f"cursor_{c.name}", type_=c.type) for c in _KEY))
    compared = {"below": key < cursor, "above": key > cursor, "at_or_below": key <= cursor}
    compared["at_or_above"] = key >= cursor
    return compared[relation]


@functools.cache
def _nearest(
    key_events: bool, since: bool, relation: Relation | None, descending: bool, selects: Selects
) -> Select[Any]:
    query = _window(key_events, since, selects)
    query = query.where(_beyond(relation)) if relation else query
    ordered = query.order_by(*(c.desc() if descending else c.asc() for c in _KEY))
    return ordered.limit(bindparam("limit", type_=Integer))


class _Window:
    """Keyset paging over one timeline's live events, seen in one reading order."""

    def __init__(self, timeline_id: str, order: Order, key_events: bool, since: datetime | None) -> None:
        self._shape = (key_events, since is not None)
        self._params: dict[str, Any] = {"timeline_id": timeline_id, "since": since}
        self._desc = order == "desc"
        # Reading newest first, what follows a cursor lies below it in ascending key order.
        self._follows: Relation = "below" if self._desc else "above"
        self._precedes: Relation = "above" if self._desc else "below"

    def page(self, conn: Connection, limit: int, before: SortKey | None, after: SortKey | None) -> Page[str]:
        """The page, and whether more lies beyond it either way. The events and the way on come from one
        statement; whether anything lies back past the cursor is a second one about the cursor alone
        (the page's nearest event is the first one past it), so the two need no shared snapshot: at
        worst a write landing between them shows in that one link a moment early."""
        if before is not None:
            found, has_prev = self._fetch(conn, limit, self._precedes, before, backwards=True)
            found.reverse()
            has_next = bool(found) and self._exists(conn, _AT_OR[self._follows], before)
        else:
            relation = self._follows if after else None
            found, has_next = self._fetch(conn, limit, relation, after, backwards=False)
            has_prev = bool(found) and after is not None and self._exists(conn, _AT_OR[self._precedes], after)
        if not found:
            return Page([])
        following = encode_cursor(_key(found[-1])) if has_next else None
        preceding = encode_cursor(_key(found[0])) if has_prev else None
        return Page(_docs(conn, found), following, preceding)

    def _fetch(
        self,
        conn: Connection,
        limit: int,
        relation: Relation | None,
        cursor: SortKey | None,
        *,
        backwards: bool,
    ) -> tuple[list[Sequence[Any]], bool]:
        """Up to `limit` rows beyond `cursor`, nearest first, and whether more lie beyond."""
        query = _nearest(*self._shape, relation, self._desc != backwards, "docs")
        rows = _driver.fetch(conn, query, {**self._params, **_cursor(cursor), "limit": limit + 1})
        return rows[:limit], len(rows) > limit

    def _exists(self, conn: Connection, relation: Relation, cursor: SortKey) -> bool:
        """Whether any event lies beyond `cursor`: the nearest one, by the index. (`EXISTS` let
        PostgreSQL pick a sequential scan of half the table on a 1M-event timeline: docs/postgres.md.)"""
        query = _nearest(*self._shape, relation, relation in ("below", "at_or_below"), "id")
        return bool(_driver.fetch(conn, query, {**self._params, **_cursor(cursor), "limit": 1}))


def _cursor(key: SortKey | None) -> dict[str, Any]:
    if key is None:
        return {}
    return {f"cursor_{c.name}": value for c, value in zip(_KEY, key, strict=True)}


def _key(row: Sequence[Any]) -> SortKey:
    """The sort key of a `_DOC_ROW` (its time still raw microseconds)."""
    return SortKey(from_micros(row[0]), row[1], row[2])
