"""The poller loop: an APScheduler job claims due sources every second and polls them within limits.

Limits: `concurrency` polls per process (we never claim more than we can start), `per_host` requests to
one host at a time, and a host that answered 429/503 with Retry-After is left alone until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import socket
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from timeline.metrics import Metrics
from timeline.poller.ingest import Ingestor
from timeline.poller.poll import PollReport, log_report, poll_claim
from timeline.poller.schedule import ScheduleSettings, late_by
from timeline.store import Claim, Store

log = logging.getLogger("timeline.poller")


@dataclass(frozen=True, slots=True)
class PollerSettings:
    schedule: ScheduleSettings
    concurrency: int = 50
    per_host: int = 2
    lease_seconds: float = 120.0
    claim_every: float = 1.0


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
    """Claims due sources under a lease and polls them; `start()` / `stop()` around a running loop."""

    def __init__(
        self,
        store: Store,
        ingestor: Ingestor,
        settings: PollerSettings,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = _utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._ingestor = ingestor
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._hosts = HostGate(settings.per_host)
        self._running: set[asyncio.Task[None]] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self.owner = f"{socket.gethostname()}:{secrets.token_hex(4)}"

    def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self.tick,
            "interval",
            seconds=self._settings.claim_every,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self._scheduler.start()

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop claiming, give running polls `grace` seconds, then release every lease we hold."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        if self._running:
            _done, pending = await asyncio.wait(self._running, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._store.release_leases(self.owner)

    async def tick(self) -> int:
        """Claim what is due, up to free capacity, and start polling it. Returns how many were claimed."""
        free = self._settings.concurrency - len(self._running)
        if free <= 0:
            return 0
        now = self._clock()
        claims = await self._store.claim_due(
            self.owner, now=now, lease_seconds=self._settings.lease_seconds, limit=free
        )
        for claim in claims:
            self._count_late(claim, now)
            task = asyncio.create_task(self._poll(claim), name=f"poll {claim.source.id}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return len(claims)

    async def drain(self) -> None:
        """Wait for the polls started so far (tests and one-shot runs)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def _poll(self, claim: Claim) -> None:
        host = urlsplit(claim.source.url).netloc
        try:
            async with self._hosts.slot(host):
                # Checked with the slot held: polls queued behind one that got a 429 must not go ahead.
                # (`_finish` records a Retry-After before its first await, so the next holder sees it.)
                blocked = self._hosts.blocked_until(host, self._clock())
                if blocked is not None:
                    await self._defer(claim, blocked)
                    return
                report = await poll_claim(
                    self._ingestor, claim, now=self._clock(), settings=self._settings.schedule, rng=self._rng
                )
            await self._finish(claim, host, report)
        except Exception:  # a bug, not an upstream's fault: log it and let the lease expire
            log.critical("poll of %s crashed", claim.source.id, exc_info=True)

    async def _finish(self, claim: Claim, host: str, report: PollReport) -> None:
        if report.outcome.retry_after is not None:
            # Capped as the schedule caps it: an absurd Retry-After would overflow the datetime.
            wait = min(report.outcome.retry_after, self._settings.schedule.retry_after_cap)
            self._hosts.back_off(host, self._clock() + timedelta(seconds=wait))
        await self._store.finish_poll(claim.source.id, self.owner, report.state, url=report.moved_to)
        log_report(report)
        self._count(report)

    async def _defer(self, claim: Claim, until: datetime) -> None:
        """The host asked us to wait: keep the source's state, due when the host is free again."""
        state = replace(claim.state, next_poll_at=until, lease_owner=None, lease_until=None)
        await self._store.finish_poll(claim.source.id, self.owner, state)

    def _count(self, report: PollReport) -> None:
        if self._metrics is None:
            return
        self._metrics.polls.labels(report.outcome.kind).inc()
        self._metrics.fetch_latency.observe(report.duration)
        self._metrics.bytes_fetched.inc(report.bytes)
        if report.applied is not None:
            applied = report.applied
            self._metrics.count_changes(applied.new, applied.updated, applied.deleted)

    def _count_late(self, claim: Claim, now: datetime) -> None:
        if self._metrics is not None and late_by(claim.state, now) > 2.0:
            self._metrics.late_polls.inc()


async def run_until_cancelled(poller: Poller) -> None:
    """Run `poller` until the task is cancelled, then stop it gracefully."""
    poller.start()
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(poller.stop())
