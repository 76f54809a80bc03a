"""The deliverer: claims subscriptions that have something to send, and sends it, in seq order.

A subscription is leased while a run delivers to it (as a source is while it is polled), so two processes
never deliver to one subscription at once, and a crashed process's leases expire. A run reads the
timeline's changes after the subscription's cursor from the store (the same data as `GET …/changes`),
sends each the filters let through, one at a time, and stops at the first failure, which is retried
later from the same change: so each receiver gets the changes in seq order, at least once. The cursor is
saved after each batch and at the end of a run; a crash in between sends those changes again (under the
same `webhook-id`, so receivers can drop them).

The deliverer wakes when told of a commit (the hub) and sweeps every `sweep_every` seconds anyway, so a
change committed before a crash, or a retry that falls due, is sent without anyone telling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from feeds.deliver import Answer, Sender
from feeds.errors import FeedsError
from timeline.errors import NotFoundError
from timeline.metrics import Metrics
from timeline.store import Attempt, ChangeDoc, DeliveryState, Store, Subscription
from timeline.webhooks import messages, signing
from timeline.webhooks.releases import Releases
from timeline.webhooks.retry import Failure, RetryPolicy, delivered, failed, passed, wanted

log = logging.getLogger("timeline.webhooks")

HEARD_KEPT = 1024  # notifications remembered per timeline, to measure the lag of what is delivered


@dataclass(frozen=True, slots=True)
class DelivererSettings:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    per_host: int = 4  # requests at once to one receiver host
    concurrency: int = 100  # subscriptions one process delivers to at once
    lease_seconds: float = 60.0
    sweep_every: float = 1.0
    batch: int = 50  # changes read at once; the cursor is saved after each batch
    timeout: float = 10.0  # of one request (the sender's deadline), to renew the lease in time


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Run:
    """One subscription being delivered to: where it stands, and what is not saved yet."""

    subscription: Subscription
    state: DeliveryState
    lease_until: datetime
    attempts: list[Attempt] = field(default_factory=list)
    lost: bool = False  # the lease expired and another process took the subscription
    failed: bool = False  # a delivery of this run failed: a later run retries it

    @property
    def stopped(self) -> bool:
        return self.lost or self.failed


class _Reads:
    """The change reads of the runs of one claim, shared: the subscriptions of a timeline mostly stand
    at the same cursor, and each read after the claim holds every change up to the seq the claim saw."""

    def __init__(self, store: Store, batch: int) -> None:
        self._store = store
        self._batch = batch
        self._reads: dict[tuple[str, int], asyncio.Task[list[ChangeDoc]]] = {}

    async def after(self, timeline_id: str, since: int) -> list[ChangeDoc]:
        key = (timeline_id, since)
        read = self._reads.get(key)
        if read is None:
            read = self._reads[key] = asyncio.create_task(
                self._store.change_docs(timeline_id, since, self._batch)
            )
        return await asyncio.shield(read)


class Deliverer:
    """Delivers every subscription's changes; `start()` / `stop()` around a running loop."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        settings: DelivererSettings,
        *,
        owner: str,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = _utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._settings = settings
        self._owner = owner
        self._metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.per_host)
        )
        self._heard: defaultdict[str, deque[tuple[int, float]]] = defaultdict(
            lambda: deque(maxlen=HEARD_KEPT)
        )
        self._running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.Task[None] | None = None
        self._releases = Releases(store, owner, self._wake.set)

    def start(self) -> None:
        self._loop = asyncio.create_task(self._claim_when_woken(), name="deliver webhooks")

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop claiming, give running deliveries `grace` seconds (the rest are cancelled, their unsaved
        changes sent again by whoever claims them next), then give back every lease."""
        if self._loop is not None:
            self._stopping = True
            self._wake.set()
            await self._loop
            self._loop = None
        if self._running:
            _done, pending = await asyncio.wait(self._running, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._releases.close()
        await self._store.release_webhooks(self._owner)

    def wake(self, timeline_id: str, seq: int) -> None:
        """A timeline moved on to `seq` (from the hub): claim at once what now has something to send."""
        heard = self._heard[timeline_id]
        if not heard or heard[-1][0] < seq:
            heard.append((seq, time.monotonic()))
        self._wake.set()

    def resync(self) -> None:
        self._wake.set()

    async def _claim_when_woken(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.sweep_every)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self._claim()
            except Exception:  # the database is away, or a bug: log it and try again at the next sweep
                log.exception("claiming webhooks failed")

    async def _claim(self) -> None:
        free = self._settings.concurrency - len(self._running)
        if free <= 0:
            return
        claims = await self._store.claim_webhooks(
            self._owner, now=self._clock(), lease_seconds=self._settings.lease_seconds, limit=free
        )
        reads = _Reads(self._store, self._settings.batch)
        for subscription in claims:
            task = asyncio.create_task(self._run(subscription, reads), name=f"deliver {subscription.id}")
            self._running.add(task)
            task.add_done_callback(self._done)
        if len(claims) == free:  # more may be waiting
            self._wake.set()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)

    async def _run(self, subscription: Subscription, reads: _Reads) -> None:
        run = _Run(subscription, subscription.state, subscription.lease_until)
        try:
            if run.state.ping_requested:
                await self._ping(run)
            waiting = run.state.next_attempt_at is not None and run.state.next_attempt_at > self._clock()
            while not run.stopped and not waiting:  # claimed for a ping alone: its changes wait their retry
                read = await reads.after(subscription.timeline_id, run.state.cursor)
                for change in read:
                    if run.stopped or not await self._renewed(run):
                        break
                    await self._deliver(run, change)
                if run.stopped:
                    break
                if len(read) < self._settings.batch:  # every change up to the claim's seq is read
                    run.state = passed(run.state, subscription.last_seq)
                    break
                await self._save(run, hold=True)
            if not run.lost:  # written with other runs' ends; the claimer is woken once it is
                self._releases.put(subscription.id, run.state, run.attempts)
        except NotFoundError:
            return  # the timeline (and with it the subscription) was deleted meanwhile
        except Exception:  # the database is away, or a bug: the lease expires, and the changes are sent again
            log.exception("delivering to webhook %s failed", subscription.id)

    async def _renewed(self, run: _Run) -> bool:
        """Whether the lease will outlast the next request: saved (and renewed) first when it might not.
        False when it was lost (it expired and another process took the subscription)."""
        margin = timedelta(seconds=min(self._settings.timeout * 2, self._settings.lease_seconds / 2))
        if self._clock() + margin < run.lease_until:
            return True
        return await self._save(run, hold=True)

    async def _save(self, run: _Run, *, hold: bool) -> bool:
        until = self._clock() + timedelta(seconds=self._settings.lease_seconds) if hold else None
        kept = await self._store.save_delivery(
            self._owner, run.subscription.id, run.state, run.attempts, lease_until=until
        )
        run.attempts = []
        if until is not None:
            run.lease_until = until
        run.lost = not kept
        if not kept:
            log.warning("lost the lease of webhook %s; another process delivers to it", run.subscription.id)
        return kept

    async def _deliver(self, run: _Run, change: ChangeDoc) -> None:
        subscription = run.subscription
        if not wanted(subscription, change):
            run.state = passed(run.state, change.seq)
            return
        message_id = messages.change_id(subscription.id, change.seq)
        failure = await self._send(run, f"event.{change.kind}", change.seq, message_id, change)
        now = self._clock()
        if failure is None:
            run.state = delivered(run.state, change.seq, now)
            self._observe_lag(subscription.timeline_id, change.seq)
        else:
            run.state = failed(run.state, failure, now, self._settings.retry, self._rng)
            run.failed = True
            if run.state.next_attempt_at is not None:  # claim it when due, not at the next sweep
                delay = (run.state.next_attempt_at - now).total_seconds()
                asyncio.get_running_loop().call_later(delay, self._wake.set)

    async def _ping(self, run: _Run) -> None:
        """A ping is tried once; its outcome shows in the attempts, not in the subscription's health."""
        message_id = f"msg_ping_{run.subscription.id}_{time.time_ns()}"
        await self._send(run, "ping", None, message_id, None)
        run.state = replace(run.state, ping_requested=False)

    async def _send(
        self, run: _Run, kind: str, seq: int | None, message_id: str, change: ChangeDoc | None
    ) -> Failure | None:
        """One signed POST, recorded as an attempt of the run; the failure, if it failed."""
        subscription = run.subscription
        attempt = run.state.consecutive_failures + 1 if change is not None else 1
        async with self._hosts[urlsplit(subscription.url).hostname or ""]:
            now = self._clock()
            body = (
                messages.change_body(subscription.timeline_id, change, now)
                if change is not None
                else messages.ping_body(subscription.timeline_id, now)
            )
            headers = signing.headers(subscription.secrets, message_id, int(now.timestamp()), body)
            try:
                answer: Answer | FeedsError = await self._sender.post(subscription.url, body, headers)
            except FeedsError as exc:
                answer = exc
        failure = _failure(answer)
        status = answer.status if isinstance(answer, Answer) else None
        latency = answer.latency if isinstance(answer, Answer) else None
        error = failure.reason if failure else None
        run.attempts.append(Attempt(now, kind, seq, attempt, status, latency, error))
        self._count(subscription.id, kind, seq, answer, failure)
        return failure

    def _count(
        self,
        webhook_id: str,
        kind: str,
        seq: int | None,
        answer: Answer | FeedsError,
        failure: Failure | None,
    ) -> None:
        outcome = (
            "delivered" if failure is None else "rejected" if isinstance(answer, Answer) else "unreachable"
        )
        if self._metrics is not None:
            self._metrics.webhook_deliveries.labels(outcome).inc()
        status = answer.status if isinstance(answer, Answer) else answer.kind
        level = logging.DEBUG if failure is None else logging.WARNING
        fields = {"webhook": webhook_id, "type": kind, "seq": seq, "status": status, "outcome": outcome}
        log.log(level, "webhook %s %s seq=%s status=%s", webhook_id, kind, seq, status, extra=fields)

    def _observe_lag(self, timeline_id: str, seq: int) -> None:
        """Seconds since this process heard that the timeline reached `seq` (not measured for changes it
        only found by sweeping, such as those committed before it started)."""
        if self._metrics is None:
            return
        heard = next((at for moved_to, at in self._heard.get(timeline_id, ()) if moved_to >= seq), None)
        if heard is not None:
            self._metrics.webhook_lag.observe(time.monotonic() - heard)


def _failure(answer: Answer | FeedsError) -> Failure | None:
    if isinstance(answer, FeedsError):
        return Failure(answer.message)
    if answer.ok:
        return None
    said = f"the receiver answered {answer.status}"
    if 300 <= answer.status < 400:
        said += " (a redirect: not followed; give the webhook its new URL)"
    return Failure(said, gone=answer.status == 410, retry_after=answer.retry_after)
