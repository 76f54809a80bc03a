"""Timelines: create with a unique slug, read with their sources, update, delete."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Update,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from timeline.errors import ConflictError, TimelineNotFoundError
from timeline.ids import new_id
from timeline.models import Source, Timeline
from timeline.store import _rows
from timeline.store._base import StoreBase, took, utcnow, wrap_errors
from timeline.store._writes import touch
from timeline.store.tables import LISTED, events, sources, timelines
from timeline.store.types import Committed

# Lowercase ASCII words joined by single hyphens: never an id (ids have `_`), always URL-safe.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SLUG_MAX = 60
_STATUSES = ("live", "ended")


def slugify(title: str) -> str:
    """`"Élection 2024: live!"` → `"election-2024-live"`; `"timeline"` when nothing is left."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:_SLUG_MAX].rstrip("-") or "timeline"


class TimelinesMixin(StoreBase):
    @wrap_errors
    async def create_timeline(
        self, title: str, slug: str | None = None, *, now: datetime | None = None
    ) -> Timeline:
        """A new live timeline. Without `slug`, one is derived from the title (`-2`, `-3`… when taken).

        Raises `ConflictError` when the slug is taken (a derived one only by a concurrent create on
        PostgreSQL), `ValueError` when an explicit slug is malformed.
        """
        if slug is not None and not SLUG.fullmatch(slug):
            raise ValueError(f"slug {slug!r} must be lowercase ASCII letters and digits joined by hyphens")
        ident = new_id("tl")
        row = {"id": ident, "title": title, "status": "live", "created_at": now or utcnow(), "last_seq": 0}

        def work(conn: Connection) -> Timeline:
            row["slug"] = slug or _free_slug(conn, slugify(title))
            try:
                conn.execute(insert(timelines).values(row))
            except IntegrityError as exc:
                raise ConflictError(f"slug {row['slug']!r} is already taken") from exc
            return _timeline(conn, ident)

        return await self._write(work)

    @wrap_errors
    async def get_timeline(self, id_or_slug: str) -> Timeline:
        """The timeline with this id or slug, with its sources. Raises `TimelineNotFoundError`."""
        return await self._read(lambda conn: _timeline(conn, id_or_slug))

    @wrap_errors
    async def timeline_seq(self, id_or_slug: str) -> tuple[str, int]:
        """Id and `last_seq` of a timeline, the cheap read behind ETags. Raises `TimelineNotFoundError`."""
        query = select(timelines.c.id, timelines.c.last_seq).where(_matches(id_or_slug))
        row = await self._read(lambda conn: conn.execute(query).one_or_none())
        if row is None:
            raise TimelineNotFoundError(id_or_slug)
        return row.id, row.last_seq

    @wrap_errors
    async def list_timelines(self) -> list[Timeline]:
        """Every timeline with its sources, oldest first."""

        def read(conn: Connection) -> list[Timeline]:
            rows = conn.execute(select(timelines).order_by(timelines.c.created_at, timelines.c.id))
            attached = _sources_by_timeline(conn)
            counted = {row.timeline_id: row for row in conn.execute(_published())}
            return [_rows.timeline(row, attached[row.id], counted.get(row.id)) for row in rows]

        return await self._read(read)

    @wrap_errors
    async def update_timeline(
        self,
        id_or_slug: str,
        *,
        title: str | None = None,
        status: Literal["live", "ended"] | None = None,
        now: datetime | None = None,
    ) -> Timeline:
        """Change the title and/or status. Raises `TimelineNotFoundError`.

        A change takes a new seq (no event changes with it), so every cached read of the timeline (ETags,
        pages, feeds, the embed page) changes too. Ending a timeline unschedules its sources; making it
        live again schedules them all (`gone` ones excepted) for `now`.
        """
        if status is not None and status not in _STATUSES:
            raise ValueError(f"status must be one of {_STATUSES}, not {status!r}")
        values = {name: value for name, value in (("title", title), ("status", status)) if value is not None}

        def work(conn: Connection) -> Timeline:
            found = _timeline(conn, id_or_slug)
            if not values:
                return found
            # Rows locked in the order every writer takes them (sources, the seq, the timeline), so that
            # a concurrent poll of one of its sources waits rather than deadlocks (PostgreSQL).
            if status is not None:
                conn.execute(_scheduling(found.id, status, now or utcnow()))
            touch(conn, found.id)
            conn.execute(update(timelines).where(timelines.c.id == found.id).values(values))
            return _timeline(conn, found.id)

        return await self._write(work)

    @wrap_errors
    async def delete_timeline(self, id_or_slug: str) -> None:
        """Delete a timeline with its sources, events and revisions. Raises `TimelineNotFoundError`."""
        gone = delete(timelines).where(_matches(id_or_slug)).returning(timelines.c.id, timelines.c.last_seq)

        def work(conn: Connection) -> None:
            row = conn.execute(gone).one_or_none()
            if row is None:
                raise TimelineNotFoundError(id_or_slug)
            took(conn, Committed(row.id, row.last_seq, deleted=True))

        await self._write(work)


def _scheduling(timeline_id: str, status: Literal["live", "ended"], now: datetime) -> Update:
    mine = sources.c.timeline_id == timeline_id
    if status == "ended":
        return update(sources).where(mine).values(next_poll_at=None)
    return update(sources).where(mine, sources.c.status != "gone").values(next_poll_at=now)


def _matches(id_or_slug: str) -> ColumnElement[bool]:
    return or_(timelines.c.id == id_or_slug, timelines.c.slug == id_or_slug)


def _free_slug(conn: Connection, base: str) -> str:
    """`base`, or `base-N` with the smallest free N ≥ 2."""
    query = select(timelines.c.slug).where(or_(timelines.c.slug == base, timelines.c.slug.like(f"{base}-%")))
    taken = set(conn.scalars(query).all())
    candidates = (base if n == 1 else f"{base}-{n}" for n in range(1, len(taken) + 2))
    return next(slug for slug in candidates if slug not in taken)


def _timeline(conn: Connection, id_or_slug: str) -> Timeline:
    row: Row[Any] | None = conn.execute(select(timelines).where(_matches(id_or_slug))).one_or_none()
    if row is None:
        raise TimelineNotFoundError(id_or_slug)
    attached = conn.execute(
        select(sources).where(sources.c.timeline_id == row.id).order_by(sources.c.created_at)
    )
    counted = conn.execute(_published().where(events.c.timeline_id == row.id)).one_or_none()
    return _rows.timeline(row, [_rows.source(s) for s in attached], counted)


def _published() -> Select[Any]:
    """Per timeline: how many events the public reads, and the newest one's time."""
    return (
        select(
            events.c.timeline_id,
            func.count().label("events"),
            func.max(events.c.published_at).label("last_event_at"),
        )
        .where(LISTED)
        .group_by(events.c.timeline_id)
    )


def _sources_by_timeline(conn: Connection) -> dict[str, list[Source]]:
    grouped: dict[str, list[Source]] = defaultdict(list)
    for row in conn.execute(select(sources).order_by(sources.c.created_at)):
        grouped[row.timeline_id].append(_rows.source(row))
    return grouped
