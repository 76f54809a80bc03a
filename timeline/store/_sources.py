"""Sources: attach, read, detach, and the poller's state (stored here, decided elsewhere)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from timeline.errors import ConflictError, SourceNotFoundError
from timeline.ids import source_id as derive_source_id
from timeline.models import Source
from timeline.store import _rows
from timeline.store._apply import lock_source
from timeline.store._base import StoreBase, timeline_must_exist, utcnow, wrap_errors
from timeline.store._plan import Plan
from timeline.store._writes import write
from timeline.store.tables import events, sources
from timeline.store.types import ApplyResult, PollState


class SourcesMixin(StoreBase):
    @wrap_errors
    async def add_source(
        self,
        timeline_id: str,
        url: str,
        adapter: str,
        *,
        now: datetime | None = None,
        lease: tuple[str, datetime] | None = None,
    ) -> Source:
        """Attach a source, due for its first poll now; or, with `lease=(owner, until)`, leased to `owner`,
        who polls it first (no poller can claim it before).

        Its id comes from the timeline and the canonical URL (`timeline.ids.source_id`): a URL the timeline
        had before gets its old id back, so its events keep their ids and its tombstones come back as the
        source lists them again. Raises `TimelineNotFoundError`, and `ConflictError` when the timeline
        already has this URL (canonically).
        """
        source_id, created = derive_source_id(timeline_id, url), now or utcnow()
        row = {
            "id": source_id,
            "timeline_id": timeline_id,
            "url": url,
            "adapter": adapter,
            "created_at": created,
        }
        owner, until = lease or (None, None)
        state = _rows.poll_values(PollState(next_poll_at=created, lease_owner=owner, lease_until=until))

        def work(conn: Connection) -> Source:
            timeline_must_exist(conn, timeline_id)
            conn.execute(insert(sources).values({**row, **state}))
            return _source(conn, source_id)

        try:
            return await self._write(work)
        except IntegrityError as exc:
            raise ConflictError(f"timeline {timeline_id!r} already has the source {url!r}") from exc

    @wrap_errors
    async def get_source(self, source_id: str) -> Source:
        """Raises `SourceNotFoundError`."""
        return await self._read(lambda conn: _source(conn, source_id))

    @wrap_errors
    async def remove_source(self, source_id: str, *, now: datetime | None = None) -> ApplyResult:
        """Detach a source. Its live events become tombstones (new seqs), so clients syncing by seq
        learn they are gone. Raises `SourceNotFoundError`."""
        live = select(events.c.id).where(events.c.source_id == source_id, events.c.deleted.is_(False))

        def work(conn: Connection) -> ApplyResult:
            locked = lock_source(conn, source_id)
            todo = Plan(tombstones=list(conn.scalars(live.order_by(events.c.id)).all()))
            last_seq = write(conn, locked.timeline_id, todo, now or utcnow()) if todo else locked.last_seq
            conn.execute(delete(sources).where(sources.c.id == source_id))
            return ApplyResult(locked.timeline_id, deleted=len(todo.tombstones), last_seq=last_seq)

        return await self._write(work)

    @wrap_errors
    async def get_poll_state(self, source_id: str) -> PollState:
        """Raises `SourceNotFoundError`."""
        return await self._read(lambda conn: _rows.poll_state(_source_row(conn, source_id)))

    @wrap_errors
    async def save_poll_state(self, source_id: str, state: PollState) -> None:
        """Replace the source's poll state. Raises `SourceNotFoundError`."""
        await self._update_source(source_id, _rows.poll_values(state))

    @wrap_errors
    async def request_poll(self, source_id: str, *, now: datetime | None = None) -> None:
        """Make the source due now ("poll now"); a poller picks it up. Raises `SourceNotFoundError`."""
        await self._update_source(source_id, {"next_poll_at": now or utcnow()})

    async def _update_source(self, source_id: str, values: dict[str, object]) -> None:
        query = update(sources).where(sources.c.id == source_id).values(values)
        if await self._write(lambda conn: conn.execute(query).rowcount) == 0:
            raise SourceNotFoundError(source_id)


def _source_row(conn: Connection, source_id: str) -> Row[Any]:
    row = conn.execute(select(sources).where(sources.c.id == source_id)).one_or_none()
    if row is None:
        raise SourceNotFoundError(source_id)
    return row


def _source(conn: Connection, source_id: str) -> Source:
    return _rows.source(_source_row(conn, source_id))
