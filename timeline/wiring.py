"""The composition root's parts: settings become a fetch policy, an ingestor and, where wanted, pollers.

Only here (and in `timeline.cli`) do the API and the poller meet: the API receives an `ingest` factory
and never imports the fetcher.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from feeds.fetch import Fetcher, FetchPolicy
from timeline.errors import StorageError
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
from timeline.store.engine import Pool, display_url

IngestFactory = Callable[[Store], AbstractAsyncContextManager[Ingestor]]

RETRY_EVERY = 2.0  # seconds between attempts to reach the database at start


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


async def open_store(settings: Settings, say: Callable[[str], None]) -> Store:
    """The store, once its database answers and has the current schema, waiting up to `TIMELINE_DB_WAIT`
    seconds: `api` and `worker` processes may start before PostgreSQL or `timeline migrate` is done.

    `say` gets one line each time the reason for waiting changes. Raises `StorageError` when time is up.
    """
    deadline, said = time.monotonic() + settings.db_wait, ""
    limit = f"TIMELINE_DB_WAIT={settings.db_wait:g} s"
    while True:
        try:
            store = await Store.open(settings.database_url, pool=Pool.of(settings))
        except StorageError as exc:
            reason, left = _waiting_for(settings, exc), deadline - time.monotonic()
            if left <= 0:
                raise StorageError(f"gave up waiting for {reason} after {limit}") from exc
            if reason != said:
                say(f"waiting for {reason}; retrying every {RETRY_EVERY:g} s, up to {limit}")
                said = reason
            await asyncio.sleep(min(RETRY_EVERY, left))
        else:
            if said:
                say(f"the database at {display_url(settings.database_url)} is ready")
            return store


async def wait_for_database(settings: Settings, say: Callable[[str], None]) -> None:
    """Return once `open_store` would succeed (see there)."""
    store = await open_store(settings, say)
    await store.close()


def _waiting_for(settings: Settings, error: StorageError) -> str:
    where = display_url(settings.database_url)
    cause = error.__cause__
    if cause is None:  # the database answered; `Store.open` found no schema or an older one
        return f"the schema at {where}: {error.message}"
    driver = getattr(cause, "orig", None) or cause  # SQLAlchemy's wrapper → the driver's own error
    return f"the database at {where} ({type(driver).__name__}: {driver})"
