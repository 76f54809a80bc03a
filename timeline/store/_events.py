"""Reading events: keyset pages, pinned events, one event, its revisions, and changes by seq."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, Connection, Integer, Row, Select, bindparam, select, tuple_

from timeline.errors import EventNotFoundError
from timeline.ids import SortKey, decode_cursor, encode_cursor
from timeline.models import Change, Event
from timeline.store import _rows
from timeline.store._base import StoreBase, timeline_must_exist, wrap_errors
from timeline.store.tables import PINNED, event_revisions, events
from timeline.store.types import Page, Revision

Order = Literal["desc", "asc"]
T = TypeVar("T")

_KEY = (events.c.published_at, events.c.position, events.c.id)


class EventsMixin(StoreBase):
    @wrap_errors
    async def page(
        self,
        timeline_id: str,
        *,
        order: Order = "desc",
        limit: int = 20,
        before: str | None = None,
        after: str | None = None,
        key_events: bool = False,
        since: datetime | None = None,
    ) -> Page:
        """Up to `limit` live events in `order` of (published_at, position, id), by keyset.

        `after` reads on from a cursor in the reading order, `before` goes back from it (give at most
        one). Tombstones are left out; `key_events` keeps key events only, `since` events published at or
        after that time.
        Raises `TimelineNotFoundError` and `InvalidCursorError`.
        """
        if limit < 1 or (before and after):
            raise ValueError("page needs limit >= 1 and at most one of `before` and `after`")
        window = _Window(timeline_id, order, key_events, since)
        start, end = _decode(before, "before"), _decode(after, "after")

        def read(conn: Connection) -> Page:
            result = window.page(conn, limit, start, end)
            if not result.events:
                timeline_must_exist(conn, timeline_id)
            return result

        return await self._read(read)

    @wrap_errors
    async def pinned(self, timeline_id: str) -> list[Event]:
        """The live pinned events, newest first. Raises `TimelineNotFoundError`."""
        query = (
            select(events)
            .where(events.c.timeline_id == timeline_id, PINNED)
            .order_by(*(c.desc() for c in _KEY))
        )
        return await self._read(lambda conn: _events_of(conn, query, timeline_id, _rows.event))

    @wrap_errors
    async def get_event(self, timeline_id: str, event_id: str) -> Event:
        """One event, tombstones included (`deleted=True`). Raises `EventNotFoundError`."""
        query = select(events).where(events.c.timeline_id == timeline_id, events.c.id == event_id)
        row = await self._read(lambda conn: conn.execute(query).one_or_none())
        if row is None:
            raise EventNotFoundError(event_id)
        return _rows.event(row)

    @wrap_errors
    async def revisions(self, timeline_id: str, event_id: str) -> list[Revision]:
        """Every version of an event, oldest first, the current one included. Raises `EventNotFoundError`."""
        origin = (events.c.timeline_id, events.c.source_id, events.c.upstream_id, events.c.id)
        query = (
            select(event_revisions, *origin)
            .join(events)
            .where(events.c.timeline_id == timeline_id, events.c.id == event_id)
            .order_by(event_revisions.c.revision)
        )
        found = await self._read(lambda conn: [_rows.revision(row) for row in conn.execute(query)])
        if not found:
            raise EventNotFoundError(event_id)
        return found

    @wrap_errors
    async def changes(self, timeline_id: str, since: int, limit: int = 500) -> list[Change]:
        """The latest state of every event changed after seq `since`, by ascending seq (at most `limit`).

        An event changed several times appears once, under its latest seq. Raises `TimelineNotFoundError`.
        """
        query = (
            select(events)
            .where(events.c.timeline_id == timeline_id, events.c.seq > since)
            .order_by(events.c.seq)
            .limit(limit)
        )
        return await self._read(lambda conn: _events_of(conn, query, timeline_id, _change))


def _events_of(
    conn: Connection, query: Select[Any], timeline_id: str, make: Callable[[Row[Any]], T]
) -> list[T]:
    """`make` of each row of `query`; none: the timeline must exist (else `TimelineNotFoundError`)."""
    found = [make(row) for row in conn.execute(query)]
    if not found:
        timeline_must_exist(conn, timeline_id)
    return found


def _change(row: Row[Any]) -> Change:
    event = _rows.event(row)
    return Change(seq=event.seq, kind="delete" if event.deleted else "upsert", event=event)


def _decode(cursor: str | None, parameter: str) -> SortKey | None:
    return None if cursor is None else decode_cursor(cursor, parameter=parameter)


Relation = Literal["below", "above"]  # rows before / after a cursor in ascending key order


@functools.cache
def _window(key_events: bool, since: bool) -> Select[Any]:
    """One timeline's live events, with every value a bound parameter: built once per shape."""
    query = select(events).where(
        events.c.timeline_id == bindparam("timeline_id"), events.c.deleted.is_(False)
    )
    if key_events:
        query = query.where(events.c.key_event)
    return query.where(events.c.published_at >= bindparam("since")) if since else query


def _beyond(relation: Relation) -> ColumnElement[bool]:
    cursor = tuple_(*(bindparam(f"cursor_{c.name}", type_=c.type) for c in _KEY))
    return tuple_(*_KEY) < cursor if relation == "below" else tuple_(*_KEY) > cursor


@functools.cache
def _nearest(key_events: bool, since: bool, relation: Relation | None, descending: bool) -> Select[Any]:
    query = _window(key_events, since)
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

    def page(self, conn: Connection, limit: int, before: SortKey | None, after: SortKey | None) -> Page:
        if before is not None:
            found, has_prev = self._fetch(conn, limit, self._precedes, before, backwards=True)
            found.reverse()
            has_next = bool(found) and self._exists(conn, self._follows, _key(found[-1]))
        else:
            relation = self._follows if after else None
            found, has_next = self._fetch(conn, limit, relation, after, backwards=False)
            has_prev = bool(found and after) and self._exists(conn, self._precedes, _key(found[0]))
        return _page(found, has_next=has_next, has_prev=has_prev)

    def _fetch(
        self,
        conn: Connection,
        limit: int,
        relation: Relation | None,
        cursor: SortKey | None,
        *,
        backwards: bool,
    ) -> tuple[list[Event], bool]:
        """Up to `limit` events beyond `cursor`, nearest first, and whether more lie beyond."""
        query = _nearest(*self._shape, relation, self._desc != backwards)
        rows = conn.execute(query, {**self._params, **_cursor(cursor), "limit": limit + 1})
        found = [_rows.event(row) for row in rows]
        return found[:limit], len(found) > limit

    def _exists(self, conn: Connection, relation: Relation, cursor: SortKey) -> bool:
        """Whether any event lies beyond `cursor`: the nearest one, by the index. (`EXISTS` let
        PostgreSQL pick a sequential scan of half the table on a 1M-event timeline: docs/postgres.md.)"""
        query = _nearest(*self._shape, relation, relation == "below")
        return conn.execute(query, {**self._params, **_cursor(cursor), "limit": 1}).first() is not None


def _cursor(key: SortKey | None) -> dict[str, Any]:
    if key is None:
        return {}
    return {f"cursor_{c.name}": value for c, value in zip(_KEY, key, strict=True)}


def _key(event: Event) -> SortKey:
    return SortKey(event.published_at, event.position, event.id)


def _page(found: list[Event], *, has_next: bool, has_prev: bool) -> Page:
    if not found:
        return Page([])
    following = encode_cursor(_key(found[-1])) if has_next else None
    preceding = encode_cursor(_key(found[0])) if has_prev else None
    return Page(found, following, preceding)
