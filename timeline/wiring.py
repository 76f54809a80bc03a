"""The composition root's parts: settings become a fetch policy, an ingestor and, where wanted, pollers.

Only here (and in `timeline.cli`) do the API and the poller meet: the API receives an `ingest` factory
and never imports the fetcher.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from feeds.fetch import Fetcher, FetchPolicy
from timeline.hub import Hub
from timeline.hub.memory import MemoryHub
from timeline.hub.postgres import PostgresHub
from timeline.metrics import Metrics
from timeline.poller import Ingestor
from timeline.poller.robots import Robots
from timeline.poller.schedule import ScheduleSettings
from timeline.poller.scheduler import Poller, PollerSettings
from timeline.settings import Settings
from timeline.store import Store

IngestFactory = Callable[[Store], AbstractAsyncContextManager[Ingestor]]


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        connect_timeout=settings.connect_timeout,
        total_timeout=settings.fetch_timeout,
        max_bytes=settings.max_body_bytes,
        max_redirects=settings.max_redirects,
        contact_url=settings.contact_url,
        allow_private=settings.allow_private_sources,
    )


def poller_settings(settings: Settings) -> PollerSettings:
    schedule = ScheduleSettings(
        base_interval=settings.poll_interval,
        min_interval=settings.poll_min_interval,
        max_interval=settings.poll_max_interval,
    )
    return PollerSettings(
        schedule=schedule,
        concurrency=settings.poll_concurrency,
        per_host=settings.poll_per_host,
        lease_seconds=settings.poll_lease_seconds,
    )


def make_hub(settings: Settings) -> Hub:
    """The hub `TIMELINE_HUB` names; `postgres` listens on the database of TIMELINE_DATABASE_URL."""
    if settings.hub == "postgres":
        return PostgresHub(settings.database_url)
    return MemoryHub()


def ingestor(
    settings: Settings, *, hub: Hub | None = None, metrics: Metrics | None = None, poll: bool = False
) -> IngestFactory:
    """A factory of the `Ingestor` over a store; with `poll=True` pollers run while it is open."""
    policy = fetch_policy(settings)

    @asynccontextmanager
    async def open_ingestor(store: Store) -> AsyncIterator[Ingestor]:
        async with Fetcher(policy) as fetcher:
            robots = Robots(fetcher, policy.user_agent) if settings.respect_robots else None
            ingest = Ingestor(store, fetcher, robots=robots, hub=hub)
            if not poll:
                yield ingest
                return
            poller = Poller(store, ingest, poller_settings(settings), metrics=metrics)
            poller.start()
            try:
                yield ingest
            finally:
                await poller.stop()

    return open_ingestor
