"""The `Store` class: every topic mixin, plus opening and closing."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import text

from timeline.errors import TimelineNotFoundError
from timeline.ids import canonical_url
from timeline.models import Source
from timeline.store._apply import ApplyMixin
from timeline.store._base import wrap_errors
from timeline.store._editing import EditingMixin
from timeline.store._events import EventsMixin
from timeline.store._leases import LeasesMixin
from timeline.store._migrate import check_schema, migrate
from timeline.store._sources import SourcesMixin
from timeline.store._timelines import TimelinesMixin
from timeline.store._webhooks import WebhooksMixin
from timeline.store.engine import Pool, create_engine


class Store(TimelinesMixin, SourcesMixin, LeasesMixin, ApplyMixin, EventsMixin, EditingMixin, WebhooksMixin):
    """Timelines, sources and events in SQLite or PostgreSQL: the only code that speaks SQL.

    Contract: every method may raise `StorageError` (driver and connection errors, wrapped once, the
    cause chained); the other errors each method names are about the data. All datetimes taken and
    returned are aware and in UTC. Methods are safe to call concurrently from many tasks.

    One exit for writes: a timeline's seq moves only through `_writes.advance`, inside a write transaction
    (`_write`), and a deleted timeline is noted the same way. Once that transaction commits,
    the store awaits the listener of `report_commits` with `Committed(timeline_id, last_seq)` for each
    timeline it changed: once per transaction, never before the commit (a reader it wakes sees the write),
    never for a write that rolled back. The composition root sets one listener per store: in a process
    that serves reads it moves the seq cache (so ETags and cached pages) on and publishes to the hub; in a
    process that only polls, it publishes. So every write path, polls, editors' changes and timeline
    changes alike, is seen by readers at once, and a new one cannot forget to tell them: taking a seq
    outside a write transaction raises.

        async with await Store.open("sqlite+aiosqlite:///timeline.db") as store:
            page = await store.page(timeline_id)
    """

    @classmethod
    @wrap_errors
    async def open(cls, url: str, *, migrate: bool = False, pool: Pool | None = None) -> Self:
        """Connect to `url`. The schema must be current (`timeline migrate`), else `StorageError`;
        `migrate=True` upgrades it first, for the one-command `timeline serve`. `pool` sizes the
        PostgreSQL connection pool."""
        if migrate:
            await _migrate(url)
        engine = create_engine(url, pool)
        try:
            await check_schema(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine)

    @wrap_errors
    async def ping(self) -> None:
        """Raise `StorageError` unless the database answers a trivial query."""
        await self._read(lambda conn: conn.execute(text("SELECT 1")), snapshot=False)

    async def close(self) -> None:
        """Close every pooled connection and the reading threads."""
        await self._close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def ensure_source(
        self, timeline: str, url: str, adapter: str, *, title: str | None = None
    ) -> Source:
        """The source of `timeline` (id or slug) with this URL (canonically), created when missing, and
        the timeline too (`timeline` as its slug). For one-shot ingestion; not one transaction."""
        try:
            found = await self.get_timeline(timeline)
        except TimelineNotFoundError:
            found = await self.create_timeline(title or timeline, slug=timeline)
        existing = [source for source in found.sources if canonical_url(source.url) == canonical_url(url)]
        return existing[0] if existing else await self.add_source(found.id, url, adapter)


_migrate = migrate  # `open` has a parameter named `migrate`
