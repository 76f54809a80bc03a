"""What follows a delivery attempt (pure): the subscription's next state, its retry time, or its end."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from timeline.store import ChangeDoc, DeliveryState, Subscription
from timeline.webhooks.messages import is_key_event


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Failed deliveries are retried after `base` seconds, doubling up to `cap`, the upper half random so
    that receivers coming back are not hit by every subscription at once; a receiver's Retry-After is
    honoured (up to `cap`). A subscription failing for `window` is disabled."""

    window: timedelta = timedelta(hours=24)
    base: float = 5.0
    cap: float = 3600.0


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str
    gone: bool = False  # the receiver answered 410 Gone: it wants no more
    retry_after: float | None = None


def wanted(subscription: Subscription, change: ChangeDoc) -> bool:
    """Whether the subscription's filters let the change through."""
    if change.kind not in subscription.events:
        return False
    return change.deleted or not subscription.key_events_only or is_key_event(change)


def passed(state: DeliveryState, seq: int) -> DeliveryState:
    """The change at `seq` is filtered out: the cursor moves past it."""
    return replace(state, cursor=max(state.cursor, seq))


def delivered(state: DeliveryState, seq: int, now: datetime) -> DeliveryState:
    return replace(
        passed(state, seq),
        last_success_at=now,
        consecutive_failures=0,
        failing_since=None,
        next_attempt_at=None,
    )


def failed(
    state: DeliveryState, failure: Failure, now: datetime, policy: RetryPolicy, rng: random.Random
) -> DeliveryState:
    """The state after a failed attempt: retried later, or disabled (410, or failing for the whole window)."""
    since = state.failing_since or now
    failures = state.consecutive_failures + 1
    after = replace(
        state,
        last_failure_at=now,
        last_failure=failure.reason,
        consecutive_failures=failures,
        failing_since=since,
    )
    if failure.gone:
        return replace(
            after, enabled=False, next_attempt_at=None, disabled_reason="the receiver answered 410 Gone"
        )
    if now - since >= policy.window:
        hours = policy.window.total_seconds() / 3600
        reason = f"failing for {hours:g} h (TIMELINE_WEBHOOK_RETRY_HOURS); last: {failure.reason}"
        return replace(after, enabled=False, next_attempt_at=None, disabled_reason=reason)
    return replace(
        after, next_attempt_at=now + timedelta(seconds=retry_delay(failures, failure, policy, rng))
    )


def retry_delay(failures: int, failure: Failure, policy: RetryPolicy, rng: random.Random) -> float:
    """Seconds before the next attempt, after `failures` failures in a row."""
    ceiling = min(policy.cap, policy.base * 2.0 ** min(failures - 1, 32))
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if failure.retry_after is not None:
        delay = max(delay, min(failure.retry_after, policy.cap))
    return delay
