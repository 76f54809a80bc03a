"""A poll: the one way a source's updates reach the store.

    robots.txt → conditional GET → same bytes as last time? stop → parse in a worker, normalizing only
    the updates whose raw hash the store does not hold → store.apply (which tells readers, through the
    store's commit listener) → the source's next state (validators, health, next poll)

Scheduled polls (`scheduler`), "poll now", attaching a source and `timeline ingest` all run it under a
lease on the source, so no two polls of one source overlap. It comes in two steps, `fetch` then
`conclude`, so the scheduler holds a host's slot only for the request. Errors are values: whatever an
upstream does (or a bug does), `conclude` returns a `PollReport` whose state the caller saves.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from feeds import redact_credentials
from feeds.errors import FeedsError, HTTPStatusError
from feeds.fetch import FetchResult
from timeline.errors import ConflictError
from timeline.metrics import Metrics
from timeline.models import Found, Source
from timeline.poller.parsing import Parsed, ParserCrashedError
from timeline.poller.reader import Reader
from timeline.poller.schedule import Outcome, ScheduleSettings, next_state
from timeline.store import ApplyPolicy, ApplyResult, Claim, PollState, Store

log = logging.getLogger("timeline.poller")

_HASH_INLINE = 256 * 1024  # bytes hashed on the event loop: well under a millisecond


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll did, for the log line, the metrics and whoever asked for it."""

    source_id: str
    url: str
    outcome: Outcome
    state: PollState
    applied: ApplyResult | None
    duration: float
    bytes: int = 0
    moved_to: str | None = None
    error: Exception | None = None  # why the poll failed, when it did
    warnings: tuple[str, ...] = ()  # what the document had wrong but was repaired or skipped
    found: Found | None = None  # what the document said of itself, when it was read
    normalized: int = 0  # updates of the document that were new or changed, so normalized
    unchanged: int = 0  # updates the store held as they are, so not normalized again


def body_hash(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


async def _body_hash(body: bytes) -> str:
    """`body_hash`, in a thread for a large body (hashing 10 MB takes the event loop ~12 ms; hashlib
    releases the GIL for it), inline for the usual small one (a thread hop would cost more)."""
    if len(body) < _HASH_INLINE:
        return body_hash(body)
    return await asyncio.to_thread(body_hash, body)


class Pipeline:
    """Polls sources into `store`: `fetch` + `conclude` for the scheduler, `poll_now` and `attach` for
    everyone else. `owner` names this process's leases."""

    def __init__(
        self,
        store: Store,
        reader: Reader,
        *,
        metrics: Metrics | None = None,
        schedule: ScheduleSettings | None = None,
        policy: ApplyPolicy | None = None,
        lease_seconds: float = 120.0,
        clock: Callable[[], datetime] = _utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._reader = reader
        self._metrics = metrics
        self._schedule = schedule or ScheduleSettings()
        self._policy = policy or ApplyPolicy()
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock
        self._rng = rng or random.Random()
        self.owner = f"{socket.gethostname()}:{secrets.token_hex(4)}"

    async def fetch(self, claim: Claim) -> FetchResult | FeedsError:
        """The conditional GET of `claim`'s source (robots.txt checked first); its failure as a value."""
        state = claim.state
        try:
            return await self._reader.fetch(
                claim.source.url, etag=state.etag, last_modified=state.last_modified
            )
        except FeedsError as exc:
            return exc

    async def conclude(
        self, claim: Claim, fetched: FetchResult | FeedsError, *, started: float
    ) -> PollReport:
        """Parse and apply what `fetch` got, decide the source's next state (the caller saves it, and so
        drops the lease), log the poll's line and count it. `started` is its `time.perf_counter()`."""
        applied: ApplyResult | None = None
        parsed: Parsed | None = None
        error: Exception | None = fetched if isinstance(fetched, FeedsError) else None
        if isinstance(fetched, FetchResult):
            try:
                outcome, applied, parsed = await self._outcome(claim, fetched)
            except Exception as exc:  # errors are values here: the poll fails, the others go on
                error = exc
        if error is not None:
            outcome = _failure(error, claim.source)
        result = fetched if isinstance(fetched, FetchResult) else None
        state = next_state(claim.state, outcome, self._clock(), self._schedule, self._rng)
        if parsed is not None:  # what the document declares of itself, kept until the next one is read
            state = replace(state, coverage_start=parsed.coverage_start, coverage_end=parsed.coverage_end)
        report = PollReport(
            claim.source.id,
            claim.source.url,
            outcome,
            state,
            applied,
            time.perf_counter() - started,
            len(result.body) if result else 0,
            result.final_url if result is not None and result.permanent_redirect else None,
            error,
            parsed.warnings if parsed is not None else (),
            _found(parsed),
            len(parsed.drafts) if parsed is not None else 0,
            len(parsed.seen) if parsed is not None else 0,
        )
        log_report(report)
        self._count(report)
        return report

    async def poll_now(self, source_id: str, *, fetched: FetchResult | None = None) -> ApplyResult:
        """Poll one source at once, outside its schedule, and save its state as any poll does.

        `fetched` stands in for the request (`timeline ingest` of a file). Raises `ConflictError` while
        another poll of the source runs, and the poll's error (`FeedsError`…) after saving it as health.
        """
        claim = await self._store.claim_source(
            source_id, self.owner, now=self._clock(), lease_seconds=self._lease.total_seconds()
        )
        if claim is None:
            raise ConflictError(f"source {source_id} is being polled right now; try again in a few seconds")
        return _applied(claim.source, await self._run(claim, fetched))

    async def attach(self, timeline_id: str, url: str, adapter: str) -> tuple[Source, ApplyResult, Found]:
        """Add a source and poll it first, leased to us from the start. A source whose first poll fails
        is removed again and the poll's error raised: nothing unusable is attached. With it, what the
        first poll found: the format, the blog's title, how many updates."""
        now = self._clock()
        until = now + self._lease
        source = await self._store.add_source(timeline_id, url, adapter, now=now, lease=(self.owner, until))
        claim = Claim(source, PollState(next_poll_at=now, lease_owner=self.owner, lease_until=until), until)
        report = await self._run(claim)
        if report.error is not None:
            await self._store.remove_source(source.id)
        applied = _applied(source, report)
        return source, applied, report.found or Found(format=source.adapter, updates=0)

    async def _run(self, claim: Claim, fetched: FetchResult | None = None) -> PollReport:
        started = time.perf_counter()
        report = await self.conclude(claim, fetched or await self.fetch(claim), started=started)
        moved = {claim.source.id: report.moved_to} if report.moved_to else None
        await self._store.finish_polls(self.owner, {claim.source.id: report.state}, moved=moved)
        return report

    async def _outcome(
        self, claim: Claim, fetched: FetchResult
    ) -> tuple[Outcome, ApplyResult | None, Parsed | None]:
        etag, modified = fetched.etag, fetched.last_modified
        if fetched.not_modified:
            kept = claim.state.body_hash
            return Outcome("not_modified", etag=etag, last_modified=modified, body_hash=kept), None, None
        digest: str | None = await _body_hash(fetched.body)
        if digest == claim.state.body_hash:  # same bytes as last time: no parse, no write
            return Outcome("unchanged", etag=etag, last_modified=modified, body_hash=digest), None, None
        now = self._clock()
        source = claim.source
        known = await self._store.raw_hashes(source.id)
        parsed = await self._reader.parse(
            fetched, source_id=source.id, adapter=source.adapter, now=now, known=known
        )
        applied = await self._apply(source.id, parsed, now)
        if applied.held is not None or applied.outdated:
            # Held deletions are confirmed by seeing the same list again, and a document read against
            # outdated raw hashes was not applied, so the next poll must read the document even when it
            # has not changed: no validators, no body hash.
            etag = modified = digest = None
        outcome = Outcome(
            "changed" if applied.changed else "unchanged",
            changes=applied.changed,
            ended=parsed.ended,
            etag=etag,
            last_modified=modified,
            body_hash=digest,
        )
        return outcome, applied, parsed

    async def _apply(self, source_id: str, parsed: Parsed, now: datetime) -> ApplyResult:
        drafts, seen, complete = parsed.drafts, parsed.seen, parsed.complete
        return await self._store.apply(
            source_id, drafts, seen=seen, complete=complete, now=now, policy=self._policy
        )

    def _count(self, report: PollReport) -> None:
        if self._metrics is None:
            return
        self._metrics.polls.labels(report.outcome.kind).inc()
        self._metrics.fetch_latency.observe(report.duration)
        self._metrics.bytes_fetched.inc(report.bytes)
        if report.applied is not None:
            applied = report.applied
            self._metrics.count_changes(applied.new, applied.updated, applied.deleted)


def _found(parsed: Parsed | None) -> Found | None:
    if parsed is None:
        return None
    return Found(format=parsed.adapter, title=parsed.title, updates=len(parsed.drafts) + len(parsed.seen))


def _applied(source: Source, report: PollReport) -> ApplyResult:
    if report.error is not None:
        raise report.error
    return report.applied or ApplyResult(source.timeline_id)


def _failure(error: Exception, source: Source) -> Outcome:
    if isinstance(error, FeedsError):
        status = error.status if isinstance(error, HTTPStatusError) else None
        retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
        return Outcome(
            "failed",
            error_kind=error.kind,
            error_message=error.message,
            http_status=status,
            retry_after=retry_after,
        )
    details = error.details if isinstance(error, ParserCrashedError) else ""
    url, said = redact_credentials(source.url), redact_credentials(repr(error))
    log.critical("poll of %s (%s) failed: %s%s", source.id, url, said, details, exc_info=not details)
    kind = getattr(error, "kind", "internal")
    message = (
        getattr(error, "message", "")
        or "an internal error stopped this poll; the service log has the details"
    )
    return Outcome("failed", error_kind=kind, error_message=message)


def log_report(report: PollReport) -> None:
    """The one structured line per poll."""
    outcome, state = report.outcome, report.state
    applied = report.applied
    fields = {
        "source": report.source_id,
        "url": redact_credentials(report.url),
        "status": outcome.kind,
        "duration": round(report.duration, 4),
        "bytes": report.bytes,
        "new": applied.new if applied else 0,
        "updated": applied.updated if applied else 0,
        "deleted": applied.deleted if applied else 0,
        "normalized": report.normalized,
        "unchanged": report.unchanged,
        "health": state.status,
        "next_poll": state.next_poll_at.isoformat() if state.next_poll_at else None,
        "error": outcome.error_kind,
        "warnings": len(report.warnings) or None,
    }
    level = logging.WARNING if outcome.kind == "failed" else logging.INFO
    text = " ".join(f"{key}={value}" for key, value in fields.items() if value is not None)
    # The error or the first warning in words, so the log (and a one-shot `timeline ingest`) says why.
    why = outcome.error_message or (report.warnings[0] if report.warnings else None)
    said = f" ({redact_credentials(why)})" if why else ""
    log.log(level, "poll %s%s", text, said, extra={"poll": fields})
