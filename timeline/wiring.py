"""The composition root's parts: settings become a fetch policy, a poll pipeline and, where wanted,
pollers.

Only here (and in `timeline.cli`) do the API and the poller meet: the API receives a `polling` factory
and never imports the fetcher.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import timedelta

from feeds.deliver import Sender
from feeds.fetch import Fetcher, FetchPolicy
from feeds.types import Limits
from timeline.errors import StorageError
from timeline.hub import Hub
from timeline.hub.memory import MemoryHub
from timeline.hub.postgres import PostgresHub
from timeline.hub.tapped import TappedHub
from timeline.metrics import Metrics
from timeline.poller import ParseLimits, ParsePool, Pipeline, Reader
from timeline.poller.parsing import default_workers
from timeline.poller.robots import Robots
from timeline.poller.schedule import ScheduleSettings
from timeline.poller.scheduler import Poller, PollerSettings
from timeline.settings import Settings
from timeline.store import ApplyPolicy, Committed, OnCommit, Store
from timeline.store.engine import Pool, display_url
from timeline.webhooks import Deliverer, DelivererSettings
from timeline.webhooks.retry import RetryPolicy

PollingFactory = Callable[[Store], AbstractAsyncContextManager[Pipeline]]

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


def schedule_settings(settings: Settings) -> ScheduleSettings:
    return ScheduleSettings(
        base_interval=settings.poll_interval,
        min_interval=settings.poll_min_interval,
        max_interval=settings.poll_max_interval,
    )


def apply_policy(settings: Settings) -> ApplyPolicy:
    """How apply guards against mass deletions and flapping caches (`TIMELINE_DELETE_CONFIRM_POLLS`,
    `TIMELINE_FLAP_WINDOW`)."""
    return ApplyPolicy(confirm_polls=settings.delete_confirm_polls, flap_window=settings.flap_window)


def poller_settings(settings: Settings) -> PollerSettings:
    return PollerSettings(
        schedule=schedule_settings(settings),
        concurrency=settings.poll_concurrency,
        per_host=settings.poll_per_host,
        lease_seconds=settings.poll_lease_seconds,
    )


WEBHOOK_ANSWER_BYTES = 64 * 1024  # of a receiver's answer read back; its status is all we use


def delivery_policy(settings: Settings) -> FetchPolicy:
    """The fetcher's guards for webhook deliveries (`TIMELINE_WEBHOOK_TIMEOUT`, the SSRF guard as
    `TIMELINE_ALLOW_PRIVATE_SOURCES` says)."""
    return replace(
        fetch_policy(settings), total_timeout=settings.webhook_timeout, max_bytes=WEBHOOK_ANSWER_BYTES
    )


def deliverer_settings(settings: Settings) -> DelivererSettings:
    retry = RetryPolicy(
        window=timedelta(hours=settings.webhook_retry_hours), base=settings.webhook_retry_base
    )
    return DelivererSettings(
        retry=retry,
        per_host=settings.webhook_concurrency,
        timeout=settings.webhook_timeout,
        lease_seconds=settings.webhook_lease_seconds,
    )


def make_hub(settings: Settings) -> Hub:
    """The hub `TIMELINE_HUB` names; `postgres` listens on the database of TIMELINE_DATABASE_URL."""
    if settings.hub == "postgres":
        return PostgresHub(settings.database_url)
    return MemoryHub()


def parse_pool(settings: Settings, workers: int | None = None) -> ParsePool:
    """The worker processes that parse fetched documents (`TIMELINE_PARSE_*`)."""
    limits = ParseLimits(
        timeout=settings.parse_timeout,
        memory_mb=settings.parse_memory_mb,
        document=Limits(max_updates=settings.max_updates),
    )
    return ParsePool(workers or settings.parse_workers or default_workers(), limits)


@asynccontextmanager
async def reader(settings: Settings, *, workers: int | None = None) -> AsyncIterator[Reader]:
    """Fetching (robots.txt as configured) and parsing in worker processes, closed on exit."""
    policy = fetch_policy(settings)
    async with Fetcher(policy) as fetcher, parse_pool(settings, workers) as pool:
        robots = Robots(fetcher, policy.user_agent) if settings.respect_robots else None
        yield Reader(fetcher, pool, robots=robots)


def polling(
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    poll: bool = False,
    hub: TappedHub | None = None,
) -> PollingFactory:
    """A factory of the poll `Pipeline` over a store; with `poll=True` pollers and the webhook deliverer
    run while it is open, the deliverer woken by `hub`'s notifications.

    Readers learn of the pipeline's writes as of every write, through the store's commit listener, which
    whoever opened the store sets (`publishing` for a process that only polls).
    """

    @asynccontextmanager
    async def open_pipeline(store: Store) -> AsyncIterator[Pipeline]:
        async with reader(settings) as read:
            pipeline = Pipeline(
                store,
                read,
                metrics=metrics,
                schedule=schedule_settings(settings),
                policy=apply_policy(settings),
                lease_seconds=settings.poll_lease_seconds,
            )
            if not poll:
                yield pipeline
                return
            poller = Poller(store, pipeline, poller_settings(settings), metrics=metrics)
            poller.start()
            try:
                async with delivering(settings, store, pipeline.owner, metrics=metrics, hub=hub):
                    yield pipeline
            finally:
                await poller.stop()

    return open_pipeline


@asynccontextmanager
async def delivering(
    settings: Settings, store: Store, owner: str, *, metrics: Metrics | None, hub: TappedHub | None
) -> AsyncIterator[Deliverer]:
    """The webhook deliverer, running until the block ends."""
    async with Sender(delivery_policy(settings)) as sender:
        deliverer = Deliverer(store, sender, deliverer_settings(settings), owner=owner, metrics=metrics)
        deliverer.start()
        if hub is not None:
            hub.tap(deliverer.wake, deliverer.resync)
        try:
            yield deliverer
        finally:
            if hub is not None:
                hub.untap(deliverer.wake)
            await deliverer.stop()


def publishing(hub: Hub) -> OnCommit:
    """The commit listener of a process that serves no reads (`timeline worker`): it only tells the hub,
    and through it the API processes, which move their caches on and wake their streams. (A deleted
    timeline needs no word: readers find it gone on their next check of its seq.)"""

    async def publish(committed: Committed) -> None:
        if not committed.deleted:
            await hub.publish(committed.timeline_id, committed.last_seq)

    return publish


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
