"""Leases: pollers claim due sources so no two poll one source at once, and crashed pollers' leases expire."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, or_, select, update

from timeline.errors import SourceNotFoundError
from timeline.models import Source
from timeline.store import _rows
from timeline.store._base import StoreBase, wrap_errors
from timeline.store.tables import sources, timelines
from timeline.store.types import PollState

# Bound per row, so one statement saves a whole batch (`id` itself is a column, so the keys differ).
_HELD = and_(sources.c.id == bindparam("b_id"), sources.c.lease_owner == bindparam("b_owner"))
_RELEASED = {"lease_owner": None, "lease_until": None}


def _held(source_id: str, owner: str) -> dict[str, str]:
    return {"b_id": source_id, "b_owner": owner}


@dataclass(frozen=True, slots=True)
class Claim:
    """A source leased to one poller until `lease_until`, with the state its poll starts from."""

    source: Source
    state: PollState
    lease_until: datetime


class LeasesMixin(StoreBase):
    @wrap_errors
    async def claim_due(self, owner: str, *, now: datetime, lease_seconds: float, limit: int) -> list[Claim]:
        """Lease up to `limit` sources that are due and not leased (or whose lease expired), oldest due first.

        One transaction: `FOR UPDATE SKIP LOCKED` on PostgreSQL lets pollers claim side by side, and
        SQLite's single writer (`BEGIN IMMEDIATE`) serializes claims. Sources of ended timelines wait.
        """
        until = now + timedelta(seconds=lease_seconds)
        due = (
            select(sources.c.id)
            .join(timelines, timelines.c.id == sources.c.timeline_id)
            .where(
                sources.c.next_poll_at <= now,
                or_(sources.c.lease_until.is_(None), sources.c.lease_until < now),
                timelines.c.status == "live",
            )
            .order_by(sources.c.next_poll_at)
            .limit(limit)
            .with_for_update(of=sources, skip_locked=True)
        )

        def work(conn: Connection) -> list[Claim]:
            ids = list(conn.scalars(due).all())
            if not ids:
                return []
            lease = {"lease_owner": owner, "lease_until": until}
            conn.execute(update(sources).where(sources.c.id.in_(ids)).values(lease))
            rows = conn.execute(select(sources).where(sources.c.id.in_(ids)).order_by(sources.c.next_poll_at))
            return [Claim(_rows.source(row), _rows.poll_state(row), until) for row in rows]

        return await self._write(work)

    @wrap_errors
    async def claim_source(
        self, source_id: str, owner: str, *, now: datetime, lease_seconds: float
    ) -> Claim | None:
        """Lease one source now, due or not ("poll now"); None while a poll holds it.
        Raises `SourceNotFoundError`."""
        until = now + timedelta(seconds=lease_seconds)
        free = or_(sources.c.lease_until.is_(None), sources.c.lease_until < now)
        lease = {"lease_owner": owner, "lease_until": until}

        def work(conn: Connection) -> tuple[int, Row[Any] | None]:
            claimed = conn.execute(update(sources).where(sources.c.id == source_id, free).values(lease))
            found = conn.execute(select(sources).where(sources.c.id == source_id)).one_or_none()
            return claimed.rowcount, found

        claimed, row = await self._write(work)
        if row is None:
            raise SourceNotFoundError(source_id)
        return Claim(_rows.source(row), _rows.poll_state(row), until) if claimed else None

    @wrap_errors
    async def finish_polls(
        self, owner: str, states: Mapping[str, PollState], *, moved: Mapping[str, str] | None = None
    ) -> None:
        """Save the states polls ended in (by source id) and drop their leases, in one transaction.

        Only for sources `owner` still holds: where the lease expired and another poller took the source,
        that poller's result wins. `moved` gives new URLs (permanent redirects); one replaces the source's
        URL unless another source of the timeline already has it: then both keep polling their own URL.
        """
        if not states:
            return
        rows = [
            {**_rows.poll_values(state), **_RELEASED, **_held(source_id, owner)}
            for source_id, state in states.items()
        ]

        def work(conn: Connection) -> None:
            for source_id, url in (moved or {}).items():
                if not _url_taken(conn, source_id, url):
                    conn.execute(update(sources).where(_HELD).values(url=url), _held(source_id, owner))
            conn.execute(update(sources).where(_HELD), rows)

        await self._write(work)

    @wrap_errors
    async def release_leases(self, owner: str) -> int:
        """Give back every lease `owner` holds (graceful shutdown): those sources stay due for others."""
        query = update(sources).where(sources.c.lease_owner == owner).values(_RELEASED)
        released: int = await self._write(lambda conn: conn.execute(query).rowcount)
        return released

    @wrap_errors
    async def list_sources(self, *, status: str | None = None) -> list[Source]:
        """Every source, or those with this health status, by timeline then age."""
        query = select(sources).order_by(sources.c.timeline_id, sources.c.created_at)
        if status is not None:
            query = query.where(sources.c.status == status)
        return await self._read(lambda conn: [_rows.source(row) for row in conn.execute(query)])


def _url_taken(conn: Connection, source_id: str, url: str) -> bool:
    """Whether another source of `source_id`'s timeline has `url`."""
    sibling = sources.alias("sibling")
    query = select(sibling.c.id).where(
        sibling.c.url == url,
        sibling.c.id != source_id,
        sibling.c.timeline_id
        == select(sources.c.timeline_id).where(sources.c.id == source_id).scalar_subquery(),
    )
    return conn.execute(query.limit(1)).first() is not None
