"""One scheduled poll of a claimed source: a polite conditional fetch, then parse → normalize → apply.

Two steps, so the scheduler holds a host's slot only for the request: `fetch_claimed`, then `conclude`.
Errors are values here (STYLE §8): whatever an upstream does, `conclude` returns a `PollReport` and the
source's next state is saved, so one hostile source never stalls the others.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime

from feeds.errors import FeedsError, HTTPStatusError
from feeds.fetch import FetchResult
from timeline.poller.ingest import Ingestor
from timeline.poller.schedule import Outcome, ScheduleSettings, next_state
from timeline.store import ApplyResult, Claim, PollState

log = logging.getLogger("timeline.poller")


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll did, for the log line and the metrics."""

    source_id: str
    url: str
    outcome: Outcome
    state: PollState
    applied: ApplyResult | None
    duration: float
    bytes: int = 0
    moved_to: str | None = None


def body_hash(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


async def fetch_claimed(ingestor: Ingestor, claim: Claim) -> FetchResult | FeedsError:
    """The conditional GET of `claim`'s source (robots.txt checked first); its failure as a value."""
    state = claim.state
    try:
        return await ingestor.fetch(claim.source.url, etag=state.etag, last_modified=state.last_modified)
    except FeedsError as exc:
        return exc


async def conclude(
    ingestor: Ingestor,
    claim: Claim,
    fetched: FetchResult | FeedsError,
    *,
    started: float,
    now: datetime,
    settings: ScheduleSettings,
    rng: random.Random,
) -> PollReport:
    """Parse and apply what `fetch_claimed` got, and decide the source's next state (the caller saves it
    and so drops the lease). `started` is the poll's `time.perf_counter()` start."""
    applied: ApplyResult | None = None
    if isinstance(fetched, FeedsError):
        outcome, result = _failure(fetched), None
    else:
        result = fetched
        try:
            outcome, applied = await _outcome(ingestor, claim, fetched)
        except FeedsError as exc:  # the body did not parse
            outcome = _failure(exc)
    moved = result.final_url if result is not None and result.permanent_redirect else None
    return PollReport(
        claim.source.id,
        claim.source.url,
        outcome,
        next_state(claim.state, outcome, now, settings, rng),
        applied,
        time.perf_counter() - started,
        len(result.body) if result else 0,
        moved,
    )


async def _outcome(
    ingestor: Ingestor, claim: Claim, fetched: FetchResult
) -> tuple[Outcome, ApplyResult | None]:
    etag, modified = fetched.etag, fetched.last_modified
    if fetched.not_modified:
        return Outcome(
            "not_modified", etag=etag, last_modified=modified, body_hash=claim.state.body_hash
        ), None
    digest = body_hash(fetched.body)
    if digest == claim.state.body_hash:  # same bytes as last time: no parse, no write
        return Outcome("unchanged", etag=etag, last_modified=modified, body_hash=digest), None
    snapshot = ingestor.parse(fetched, claim.source.adapter)
    applied = await ingestor.apply(claim.source, snapshot)
    outcome = Outcome(
        "changed" if applied.changed else "unchanged",
        changes=applied.changed,
        ended=snapshot.ended,
        etag=etag,
        last_modified=modified,
        body_hash=digest,
    )
    return outcome, applied


def _failure(exc: FeedsError) -> Outcome:
    status = exc.status if isinstance(exc, HTTPStatusError) else None
    retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
    return Outcome(
        "failed", error_kind=exc.kind, error_message=exc.message, http_status=status, retry_after=retry_after
    )


def log_report(report: PollReport) -> None:
    """The one structured line per poll."""
    outcome, state = report.outcome, report.state
    applied = report.applied
    fields = {
        "source": report.source_id,
        "url": report.url,
        "status": outcome.kind,
        "duration": round(report.duration, 4),
        "bytes": report.bytes,
        "new": applied.new if applied else 0,
        "updated": applied.updated if applied else 0,
        "deleted": applied.deleted if applied else 0,
        "health": state.status,
        "next_poll": state.next_poll_at.isoformat() if state.next_poll_at else None,
        "error": outcome.error_kind,
    }
    level = logging.WARNING if outcome.kind == "failed" else logging.INFO
    text = " ".join(f"{key}={value}" for key, value in fields.items() if value is not None)
    log.log(level, "poll %s", text, extra={"poll": fields})
