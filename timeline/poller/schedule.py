"""When to poll a source next: a pure decision from its state and one poll's outcome, so every rule
below is tested with a fake clock and a seeded random, without a poller or a network.

- Successes adapt the source's own interval: halve it while updates keep coming, grow it ×1.5 while the
  blog is quiet, within [min_interval, max_interval]. A new or revived source starts at base_interval.
- A blog ends when the source says so or after `silence_to_end` without a change. It is then polled
  hourly, so a resumed blog revives, and not at all `stop_after_ended` after it ended.
- Failures back off exponentially (base × 2ⁿ⁻¹, capped); Retry-After is honoured on top. The same
  404/410 answer `gone_after` polls in a row (410: one fewer) marks the source gone.
- Every delay gets ±jitter, so sources added together spread out. Gone and stopped sources stay so
  until `reactivate`.

Nothing here reads a clock or does I/O: `now` and the `random.Random` are parameters.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from timeline.store.types import PollState

__all__ = ["Outcome", "ScheduleSettings", "is_due", "is_stopped", "late_by", "next_state", "reactivate"]

_MISSING = frozenset({404, 410})
_MAX_DOUBLINGS = 40  # base × 2⁴⁰ dwarfs any sensible cap and keeps the float finite


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """Polling policy, in seconds. The composition root builds it from `Settings`."""

    base_interval: float = 30.0
    min_interval: float = 10.0
    max_interval: float = 600.0
    speed_up: float = 0.5  # interval factor after a poll that changed events
    slow_down: float = 1.5  # interval factor after a quiet poll
    backoff_cap: float = 3600.0
    retry_after_cap: float = 86400.0  # guards against absurd Retry-After dates stalling a source for ever
    ended_interval: float = 3600.0
    stop_after_ended: float = 86400.0
    # Live blogs post every few minutes; six quiet hours almost always means the story is over. A blog
    # that only paused (overnight) revives on its next change, as ended blogs are still polled hourly.
    silence_to_end: float = 6 * 3600.0
    gone_after: int = 3
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.min_interval <= self.base_interval <= self.max_interval:
            raise ValueError("need 0 < min_interval <= base_interval <= max_interval")
        if not (0 < self.speed_up <= 1 <= self.slow_down and 0 <= self.jitter < 1 and self.gone_after >= 1):
            raise ValueError("need 0 < speed_up <= 1 <= slow_down, 0 <= jitter < 1 and gone_after >= 1")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one poll found.

    Validators (`etag`, `last_modified`, `body_hash`) are what to remember: after `changed` or
    `unchanged` exactly these (None forgets one the server stopped sending); after `not_modified` the old
    ones unless the 304 sent new ones; after `failed` the old ones. `changes` is for logs and metrics.
    """

    kind: Literal["changed", "unchanged", "not_modified", "failed"]
    changes: int = 0
    ended: bool = False  # the source says the blog ended (liveBloggingNow false, coverageEndTime passed)
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error_kind: str | None = None
    error_message: str | None = None
    http_status: int | None = None
    retry_after: float | None = None  # seconds, from a 429/503 Retry-After


def next_state(
    state: PollState, outcome: Outcome, now: datetime, settings: ScheduleSettings, rng: random.Random
) -> PollState:
    """The state to save after polling a source in `state` with `outcome`; the lease is released."""
    if is_stopped(state):
        decided = replace(state, next_poll_at=None)
    elif outcome.kind == "failed":
        decided = _fail(state, outcome, now, settings, rng)
    else:
        decided = _succeed(state, outcome, now, settings, rng)
    return replace(decided, lease_owner=None, lease_until=None)


def reactivate(state: PollState, now: datetime, settings: ScheduleSettings) -> PollState:
    """An operator's restart of a gone, ended or stopped source: due now at the base interval.

    The last error stays for history. Silence is measured afresh from the next success, so a source
    that still says it ended ends again (and stops a day later).
    """
    return replace(
        state,
        status="ok",
        next_poll_at=now,
        interval_seconds=settings.base_interval,
        consecutive_failures=0,
        consecutive_missing=0,
        last_change_at=None,
        ended_at=None,
    )


def is_stopped(state: PollState) -> bool:
    """Gone, or ended long enough ago that polling stopped: only `reactivate` brings it back."""
    return state.status == "gone" or (state.status == "ended" and state.next_poll_at is None)


def is_due(state: PollState, now: datetime) -> bool:
    """Whether a poller may claim the source: its time has come and no live lease holds it."""
    if state.next_poll_at is None or state.next_poll_at > now:
        return False
    return state.lease_until is None or state.lease_until < now


def late_by(state: PollState, now: datetime) -> float:
    """Seconds the source's poll is overdue (0 when not yet due or not scheduled): the late-polls metric."""
    if state.next_poll_at is None:
        return 0.0
    return max(0.0, (now - state.next_poll_at).total_seconds())


def _succeed(
    state: PollState, outcome: Outcome, now: datetime, settings: ScheduleSettings, rng: random.Random
) -> PollState:
    done = _record_success(state, outcome, now)
    if outcome.ended or _silent(done, now, settings):
        return _end(done, now, settings, rng)
    interval = _adapted_interval(state, outcome, settings)
    next_poll_at = now + _jittered(interval, settings, rng)
    return replace(done, status="ok", ended_at=None, interval_seconds=interval, next_poll_at=next_poll_at)


def _record_success(state: PollState, outcome: Outcome, now: datetime) -> PollState:
    # The first success is the baseline for silence even when it found nothing to change.
    changed = outcome.kind == "changed" or state.last_change_at is None
    return replace(
        _remember_validators(state, outcome),
        consecutive_failures=0,
        consecutive_missing=0,
        last_success_at=now,
        last_change_at=now if changed else state.last_change_at,
    )


def _remember_validators(state: PollState, outcome: Outcome) -> PollState:
    if outcome.kind == "not_modified":  # a 304 has no body and may omit its validators
        return replace(
            state,
            etag=outcome.etag or state.etag,
            last_modified=outcome.last_modified or state.last_modified,
            body_hash=outcome.body_hash or state.body_hash,
        )
    return replace(state, etag=outcome.etag, last_modified=outcome.last_modified, body_hash=outcome.body_hash)


def _silent(state: PollState, now: datetime, settings: ScheduleSettings) -> bool:
    quiet_since = state.last_change_at
    return quiet_since is not None and now - quiet_since >= timedelta(seconds=settings.silence_to_end)


def _adapted_interval(state: PollState, outcome: Outcome, settings: ScheduleSettings) -> float:
    if state.interval_seconds is None or state.status in ("new", "ended"):
        return settings.base_interval
    factor = settings.speed_up if outcome.kind == "changed" else settings.slow_down
    return min(settings.max_interval, max(settings.min_interval, state.interval_seconds * factor))


def _end(state: PollState, now: datetime, settings: ScheduleSettings, rng: random.Random) -> PollState:
    ended_at = state.ended_at or now
    stopped = now - ended_at >= timedelta(seconds=settings.stop_after_ended)
    next_poll_at = None if stopped else now + _jittered(settings.ended_interval, settings, rng)
    return replace(
        state,
        status="ended",
        ended_at=ended_at,
        interval_seconds=settings.ended_interval,
        next_poll_at=next_poll_at,
    )


def _fail(
    state: PollState, outcome: Outcome, now: datetime, settings: ScheduleSettings, rng: random.Random
) -> PollState:
    failed = _record_failure(state, outcome, now)
    if _is_gone(state, outcome, settings):
        return replace(failed, status="gone", next_poll_at=None)
    if state.status == "ended":  # errors do not revive an ended blog: it keeps its hourly-then-stop course
        return _end(failed, now, settings, rng)
    delay = _jittered(_backoff(failed.consecutive_failures, settings), settings, rng)
    if outcome.retry_after is None:
        return replace(failed, status="failing", next_poll_at=now + delay)
    asked = timedelta(seconds=min(outcome.retry_after, settings.retry_after_cap))
    return replace(failed, status="backing-off", next_poll_at=now + max(delay, asked))


def _record_failure(state: PollState, outcome: Outcome, now: datetime) -> PollState:
    return replace(
        state,
        consecutive_failures=state.consecutive_failures + 1,
        consecutive_missing=state.consecutive_missing + 1 if outcome.http_status in _MISSING else 0,
        last_error_kind=outcome.error_kind,
        last_error_message=outcome.error_message,
        last_error_at=now,
    )


def _is_gone(state: PollState, outcome: Outcome, settings: ScheduleSettings) -> bool:
    """404/410 `gone_after` times in a row; a 410 is deliberate, so one fewer confirms it."""
    if outcome.http_status not in _MISSING:
        return False
    needed = settings.gone_after - 1 if outcome.http_status == 410 else settings.gone_after
    return state.consecutive_missing + 1 >= needed


def _backoff(failures: int, settings: ScheduleSettings) -> float:
    doublings = min(failures - 1, _MAX_DOUBLINGS)
    return min(settings.backoff_cap, settings.base_interval * 2.0**doublings)


def _jittered(seconds: float, settings: ScheduleSettings, rng: random.Random) -> timedelta:
    """±jitter around `seconds`, never under min_interval.

    Proportional rather than full jitter: the per-host limit and Retry-After already prevent herds, and
    a delay near its nominal value keeps the health page's "next poll" meaningful.
    """
    spread = 1.0 + rng.uniform(-settings.jitter, settings.jitter)
    return timedelta(seconds=max(settings.min_interval, seconds * spread))
