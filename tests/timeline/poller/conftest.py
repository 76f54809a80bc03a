"""Pollers driven by hand: a fake clock, a real store, a real local upstream, `tick()` then `drain()`.

`db_url` (a SQLite file, or a PostgreSQL database of its own) comes from the store tests; most tests here
run on a SQLite file through `rig`, the cross-process ones on both backends.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from feeds.fetch import Fetcher, FetchPolicy, FetchResult
from tests.timeline.store.conftest import db_url as db_url  # re-exported fixture: SQLite file or PostgreSQL
from tests.upstream import Route, Upstream
from timeline.models import Event, Source, Timeline
from timeline.poller import ParsePool, Pipeline, Reader
from timeline.poller.parsing import Parsed
from timeline.poller.robots import Robots
from timeline.poller.schedule import ScheduleSettings
from timeline.poller.scheduler import Poller, PollerSettings
from timeline.store import Store, migrate

_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
LOCAL = FetchPolicy(allow_private=True, connect_timeout=2.0, total_timeout=2.0)
SCHEDULE = ScheduleSettings(base_interval=30.0, min_interval=10.0, max_interval=600.0)


class FakeClock:
    """The poller's and pipeline's `now`: moves only when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class CountingReader(Reader):
    """The real reader, counting parses (an unchanged source must not cost one) and keeping what each
    parse answered: how many updates the worker normalized, and which it knew unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parsed: list[Parsed] = []

    @property
    def parses(self) -> int:
        return len(self.parsed)

    async def parse(
        self,
        fetched: FetchResult,
        *,
        source_id: str,
        adapter: str,
        now: datetime,
        known: frozenset[str] = frozenset(),
    ) -> Parsed:
        parsed = await super().parse(fetched, source_id=source_id, adapter=adapter, now=now, known=known)
        self.parsed.append(parsed)
        return parsed


def pipeline(
    store: Store,
    fetcher: Fetcher,
    pool: ParsePool,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    schedule: ScheduleSettings = SCHEDULE,
    rng: random.Random | None = None,
) -> Pipeline:
    """The poll pipeline over `store`, parsing in `pool`, without robots.txt."""
    return Pipeline(store, Reader(fetcher, pool), schedule=schedule, clock=clock, rng=rng)


def poller_settings(
    schedule: ScheduleSettings = SCHEDULE,
    *,
    concurrency: int = 50,
    per_host: int = 2,
    lease_seconds: float = 120.0,
) -> PollerSettings:
    return PollerSettings(schedule, concurrency=concurrency, per_host=per_host, lease_seconds=lease_seconds)


@dataclass
class Rig:
    """One poller over one store, with an upstream to serve its sources and a fake clock."""

    store: Store
    upstream: Upstream
    clock: FakeClock
    reader: CountingReader
    poller: Poller
    timeline: Timeline
    sources: dict[str, Source] = field(default_factory=dict)

    async def add(
        self, path: str, route: Route, adapter: str = "auto", *, upstream: Upstream | None = None
    ) -> Source:
        """Serve `route` at `path` and attach it as a source, due now."""
        server = upstream or self.upstream
        server.routes[path] = route
        source = await self.store.add_source(self.timeline.id, server.url(path), adapter, now=self.clock())
        self.sources[path] = source
        return source

    async def poll(self, after: float = 0.0) -> int:
        """Move the clock on by `after` seconds, claim what is due and wait for those polls; how many."""
        self.clock.advance(after)
        claimed = await self.poller.tick()
        await self.poller.drain()
        return claimed

    async def poll_next(self) -> int:
        """Move the clock to the earliest next poll of any source, and poll what is due then."""
        health = [(await self.store.get_source(s.id)).health for s in self.sources.values()]
        due = min(h.next_poll_at for h in health if h.next_poll_at is not None)
        self.clock.now = max(self.clock.now, due)
        return await self.poll()

    async def source(self, path: str) -> Source:
        return await self.store.get_source(self.sources[path].id)

    async def events(self, *, deleted: bool = False) -> dict[str, Event]:
        """The timeline's events by upstream id, through its changes; with `deleted`, tombstones too, read
        in full as a keyed read sees them (the public change carries no content, not even the upstream id)."""
        changes = await self.store.changes(self.timeline.id, since=0, limit=10_000)
        found = [c.event for c in changes if isinstance(c.event, Event)]
        if deleted:
            gone = [c.event.id for c in changes if not isinstance(c.event, Event)]
            found += [await self.store.full_event(self.timeline.id, ident) for ident in gone]
        return {event.upstream_id: event for event in found}

    async def texts(self) -> dict[str, str]:
        """What the timeline shows: upstream id → body text of every live event."""
        return {upstream_id: event.body_text for upstream_id, event in (await self.events()).items()}

    async def last_seq(self) -> int:
        return (await self.store.timeline_seq(self.timeline.id))[1]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}"


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    await migrate(sqlite_url)
    async with await Store.open(sqlite_url) as opened:
        yield opened


@pytest.fixture
def parse_pool() -> Iterator[ParsePool]:
    """One parse worker (forked when first needed), stopped after the test."""
    pool = ParsePool(1)
    yield pool
    pool.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy() -> FetchPolicy:
    """Override to change the fetch limits of `rig`."""
    return LOCAL


@pytest.fixture
def settings() -> PollerSettings:
    """Override to change the poller's schedule and limits in `rig`."""
    return poller_settings()


@pytest.fixture
def respect_robots() -> bool:
    """Override with True to check robots.txt in `rig` (on the fake clock)."""
    return False


@pytest.fixture
async def rig(
    store: Store,
    upstream: Upstream,
    clock: FakeClock,
    policy: FetchPolicy,
    settings: PollerSettings,
    respect_robots: bool,
    parse_pool: ParsePool,
) -> AsyncIterator[Rig]:
    async with Fetcher(policy) as fetcher:
        robots = (
            Robots(fetcher, policy.user_agent, clock=lambda: clock().timestamp()) if respect_robots else None
        )
        reader = CountingReader(fetcher, parse_pool, robots=robots)
        polls = Pipeline(store, reader, schedule=settings.schedule, clock=clock, rng=random.Random(0))
        poller = Poller(store, polls, settings, clock=clock)
        timeline = await store.create_timeline("Election night", now=clock())
        yield Rig(store, upstream, clock, reader, poller, timeline)
        await poller.drain()


@contextmanager
def written_tables(store: Store) -> Iterator[list[str]]:
    """The tables each INSERT, UPDATE or DELETE names, in order, while the block runs."""
    tables: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if match := _WRITE.match(statement):
            tables.append(match.group(1).lower())

    # SQLite's statements run on an engine of their own, in the store's threads.
    engines = [store._engine.sync_engine, *([store._sqlite_reads.engine] if store._sqlite_reads else [])]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    try:
        yield tables
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
