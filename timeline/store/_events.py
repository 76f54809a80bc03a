"""Reading events: keyset pages, pinned events, one event, its revisions, and changes by seq."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.errors import EventNotFoundError
from timeline.ids import SortKey, decode_cursor, encode_cursor
from timeline.models import Change, Event
from timeline.store import _rows
from timeline.store._base import StoreBase, require_timeline, wrap_errors
from timeline.store.tables import PINNED, event_revisions, events
from timeline.store.types import Page, Revision

Order = Literal["desc", "asc"]

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
        async with self._reading() as conn:
            result = await window.page(conn, limit, _decode(before, "before"), _decode(after, "after"))
            if not result.events:
                await require_timeline(conn, timeline_id)
        return result

    @wrap_errors
    async def pinned(self, timeline_id: str) -> list[Event]:
        """The live pinned events, newest first. Raises `TimelineNotFoundError`."""
        query = (
            select(events)
            .where(events.c.timeline_id == timeline_id, PINNED)
            .order_by(*(c.desc() for c in _KEY))
        )
        async with self._reading() as conn:
            found = [_rows.event(row) for row in await conn.execute(query)]
            if not found:
                await require_timeline(conn, timeline_id)
        return found

    @wrap_errors
    async def get_event(self, timeline_id: str, event_id: str) -> Event:
        """One event, tombstones included (`deleted=True`). Raises `EventNotFoundError`."""
        query = select(events).where(events.c.timeline_id == timeline_id, events.c.id == event_id)
        async with self._reading() as conn:
            row = (await conn.execute(query)).one_or_none()
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
        async with self._reading() as conn:
            found = [_rows.revision(row) for row in await conn.execute(query)]
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
        async with self._reading() as conn:
            found = [_change(_rows.event(row)) for row in await conn.execute(query)]
            if not found:
                await require_timeline(conn, timeline_id)
        return found


def _change(event: Event) -> Change:
    return Change(seq=event.seq, kind="delete" if event.deleted else "upsert", event=event)


def _decode(cursor: str | None, parameter: str) -> SortKey | None:
    return None if cursor is None else decode_cursor(cursor, parameter=parameter)


def _live(timeline_id: str) -> Select[Any]:
    return select(events).where(events.c.timeline_id == timeline_id, events.c.deleted.is_(False))


class _Window:
    """Keyset paging over one timeline's live events, seen in one reading order."""

    def __init__(self, timeline_id: str, order: Order, key_events: bool, since: datetime | None) -> None:
        query = _live(timeline_id).where(events.c.key_event if key_events else true())
        self._query = query.where(events.c.published_at >= since) if since else query
        self._desc = order == "desc"

    def _follows(self, key: SortKey) -> ColumnElement[bool]:
        """Events after `key` in the reading order."""
        return tuple_(*_KEY) < tuple(key) if self._desc else tuple_(*_KEY) > tuple(key)

    def _precedes(self, key: SortKey) -> ColumnElement[bool]:
        return tuple_(*_KEY) > tuple(key) if self._desc else tuple_(*_KEY) < tuple(key)

    def _sorted(self, *, backwards: bool) -> Select[Any]:
        descending = self._desc != backwards
        return self._query.order_by(*(c.desc() if descending else c.asc() for c in _KEY))

    async def page(
        self, conn: AsyncConnection, limit: int, before: SortKey | None, after: SortKey | None
    ) -> Page:
        if before is not None:
            found, has_prev = await self._fetch(conn, limit, self._precedes(before), backwards=True)
            found.reverse()
            has_next = bool(found) and await self._exists(conn, self._follows(_key(found[-1])))
        else:
            condition = self._follows(after) if after else true()
            found, has_next = await self._fetch(conn, limit, condition, backwards=False)
            has_prev = bool(found and after) and await self._exists(conn, self._precedes(_key(found[0])))
        return _page(found, has_next=has_next, has_prev=has_prev)

    async def _fetch(
        self, conn: AsyncConnection, limit: int, condition: ColumnElement[bool], *, backwards: bool
    ) -> tuple[list[Event], bool]:
        """Up to `limit` events meeting `condition`, nearest first, and whether more lie beyond."""
        query = self._sorted(backwards=backwards).where(condition).limit(limit + 1)
        found = [_rows.event(row) for row in await conn.execute(query)]
        return found[:limit], len(found) > limit

    async def _exists(self, conn: AsyncConnection, condition: ColumnElement[bool]) -> bool:
        return bool(await conn.scalar(select(self._query.where(condition).exists())))


def _key(event: Event) -> SortKey:
    return SortKey(event.published_at, event.position, event.id)


def _page(found: list[Event], *, has_next: bool, has_prev: bool) -> Page:
    if not found:
        return Page([])
    following = encode_cursor(_key(found[-1])) if has_next else None
    preceding = encode_cursor(_key(found[0])) if has_prev else None
    return Page(found, following, preceding)
