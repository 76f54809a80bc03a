"""The poller loop: due sources are claimed every second (and sooner while a backlog lasts) and polled
within limits.

Limits: `concurrency` polls per process (we never claim more than we can start), `per_host` requests to
one host at a time (held for the request only, not for parsing and storing), and a host that answered
429/503 with Retry-After is left alone until then. States are saved in batches (`writeback`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from feeds.errors import FeedsError, HTTPStatusError
from feeds.fetch import FetchResult
from timeline.metrics import Metrics
from timeline.poller.poll import Pipeline
from timeline.poller.schedule import ScheduleSettings, late_by
from timeline.poller.writeback import StateWriter
from timeline.store import Claim, Store

log = logging.getLogger("timeline.poller")


@dataclass(frozen=True, slots=True)
class PollerSettings:
    schedule: ScheduleSettings
    concurrency: int = 50
    per_host: int = 2
    lease_seconds: float = 120.0
    claim_every: float = 1.0
    save_every: float = 0.1  # seconds the states of finished polls gather before one transaction saves them


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HostGate:
    """Per-host concurrency and Retry-After, shared by every poll of this process."""

    def __init__(self, per_host: int) -> None:
        self._slots: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_host))
        self._not_before: dict[str, datetime] = {}

    def blocked_until(self, host: str, now: datetime) -> datetime | None:
        until = self._not_before.get(host)
        return until if until is not None and until > now else None

    def back_off(self, host: str, until: datetime) -> None:
        self._not_before[host] = max(until, self._not_before.get(host, until))

    def slot(self, host: str) -> asyncio.Semaphore:
        return self._slots[host]


class Poller:
    """Claims due sources under a lease and polls them; `start()` / `stop()` around a running loop.

    One task of ours claims; APScheduler's job only wakes it every `claim_every` seconds, and returns at
    once, so shutting the scheduler down never cancels a claim half-way. While a claim comes back full
    (more may be due), finished polls wake the claimer as soon as a quarter of the capacity is free,
    so the throughput is not capped at `concurrency` polls per `claim_every`.
    """

    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        settings: PollerSettings,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._pipeline = pipeline
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._hosts = HostGate(settings.per_host)
        self._running: set[asyncio.Task[None]] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self._claimer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._more_due = False
        self._refill = max(1, settings.concurrency // 4)
        self.owner = pipeline.owner
        self._states = StateWriter(store, self.owner, linger=settings.save_every)

    def start(self) -> None:
        self._claimer = asyncio.create_task(self._claim_when_woken(), name="claim due sources")
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self._wake_claimer,
            "interval",
            seconds=self._settings.claim_every,
            coalesce=True,
            misfire_grace_time=None,  # a busy loop runs it late: still wake the claimer, never warn
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop claiming, give running polls `grace` seconds, save their states, then release every lease
        we hold (the cancelled polls' sources are due again for any poller)."""
        if self._scheduler is not None:
            self._scheduler.pause()
            await asyncio.sleep(0)  # a wake-up submitted just now runs (it never waits), so none is cancelled
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._claimer is not None:
            self._stopping = True
            self._wake.set()
            await self._claimer  # a claim under way ends, and its sources are polled below
            self._claimer = None
        if self._running:
            _done, pending = await asyncio.wait(self._running, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._states.close()
        await self._store.release_leases(self.owner)

    async def tick(self) -> int:
        """Claim what is due, up to free capacity, and start polling it. Returns how many were claimed."""
        free = self._settings.concurrency - len(self._running)
        if free <= 0:
            self._more_due = True
            return 0
        now = self._clock()
        claims = await self._store.claim_due(
            self.owner, now=now, lease_seconds=self._settings.lease_seconds, limit=free
        )
        self._more_due = len(claims) == free
        for claim in claims:
            task = asyncio.create_task(self._poll(claim), name=f"poll {claim.source.id}")
            self._running.add(task)
            task.add_done_callback(self._done)
        return len(claims)

    async def drain(self) -> None:
        """Wait for the polls started so far and save their states (tests and one-shot runs)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)
        await self._states.flush()

    async def _wake_claimer(self) -> None:
        self._wake.set()

    async def _claim_when_woken(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.tick()
            except Exception:  # the database is away, or a bug: log it and try again when woken
                log.exception("claiming due sources failed")

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._more_due and self._settings.concurrency - len(self._running) >= self._refill:
            self._wake.set()

    async def _poll(self, claim: Claim) -> None:
        host = urlsplit(claim.source.url).netloc
        try:
            async with self._hosts.slot(host):
                # Checked with the slot held: polls queued behind one that got a 429 must not go ahead.
                blocked = self._hosts.blocked_until(host, self._clock())
                if blocked is not None:
                    self._defer(claim, blocked)
                    return
                started = time.perf_counter()
                self._count_late(claim)
                fetched = await self._pipeline.fetch(claim)
                self._back_off(host, fetched)  # before the slot goes to the next poll of this host
            report = await self._pipeline.conclude(claim, fetched, started=started)
            self._states.put(claim.source.id, report.state, moved_to=report.moved_to)
        except Exception:  # a bug, not an upstream's fault: log it and let the lease expire
            log.critical("poll of %s crashed", claim.source.id, exc_info=True)

    def _back_off(self, host: str, fetched: FetchResult | FeedsError) -> None:
        """Leave the host alone for as long as a 429/503 asked."""
        retry_after = fetched.retry_after if isinstance(fetched, HTTPStatusError) else None
        if retry_after is not None:
            # Capped as the schedule caps it: an absurd Retry-After would overflow the datetime.
            wait = min(retry_after, self._settings.schedule.retry_after_cap)
            self._hosts.back_off(host, self._clock() + timedelta(seconds=wait))

    def _defer(self, claim: Claim, until: datetime) -> None:
        """The host asked us to wait: keep the source's state, due when the host is free again."""
        state = replace(claim.state, next_poll_at=until, lease_owner=None, lease_until=None)
        self._states.put(claim.source.id, state)

    def _count_late(self, claim: Claim) -> None:
        if self._metrics is not None and late_by(claim.state, self._clock()) > 2.0:
            self._metrics.late_polls.inc()
