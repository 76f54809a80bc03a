"""Webhook subscriptions: what the API manages, and the deliverer's cursors, health and leases.

The deliverer decides (what to send, when to retry, when to give up); the store only keeps what it
decided, like the poller's state of a source. A subscription's `cursor` moves only forward, and only by
`save_delivery` of the deliverer holding its lease.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Row, and_, bindparam, delete, insert, or_, select, update

from timeline.errors import WebhookDisabledError, WebhookNotFoundError
from timeline.ids import new_id, webhook_secret
from timeline.models import ChangeKind, Webhook, WebhookAttempt, WebhookHealth
from timeline.store._base import StoreBase, timeline_must_exist, utcnow, wrap_errors
from timeline.store.tables import timelines, webhook_attempts, webhooks

ATTEMPTS_KEPT = 100  # delivery attempts kept per subscription, newest first
ROTATION_GRACE = timedelta(hours=24)  # the old secret keeps signing this long after a rotation


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """The deliverer's bookkeeping of one subscription. The store keeps it; it decides nothing."""

    cursor: int
    enabled: bool = True
    ping_requested: bool = False
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_failure: str | None = None
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    next_attempt_at: datetime | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription leased to a deliverer: where to send, how to sign, what to filter, where it stands.

    `secrets` holds the current secret first, then the previous one while a rotation's grace lasts.
    `last_seq` is the timeline's seq when it was claimed: every change up to it is readable then.
    """

    id: str
    timeline_id: str
    url: str
    secrets: tuple[str, ...]
    events: tuple[ChangeKind, ...]
    key_events_only: bool
    state: DeliveryState
    last_seq: int
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt, to record."""

    at: datetime
    type: str
    seq: int | None
    attempt: int
    status_code: int | None
    latency: float | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """What a subscription is asked for: its receiver and its filters."""

    url: str
    events: tuple[ChangeKind, ...] = ("upsert", "delete")
    key_events_only: bool = False
    description: str | None = None


_STATE_COLUMNS = tuple(DeliveryState.__dataclass_fields__)
_RESET = {  # a subscription enabled again, or pointed elsewhere, starts with a clean record
    "consecutive_failures": 0,
    "failing_since": None,
    "next_attempt_at": None,
    "disabled_reason": None,
}


class WebhooksMixin(StoreBase):
    @wrap_errors
    async def create_webhook(
        self, timeline_id: str, spec: WebhookSpec, *, now: datetime | None = None
    ) -> tuple[Webhook, str]:
        """A new subscription and its secret (not readable later), delivering the timeline's changes
        committed from now on. Raises `TimelineNotFoundError`."""
        webhook_id, secret, created = new_id("wh"), webhook_secret(), now or utcnow()

        def work(conn: Connection) -> tuple[Webhook, str]:
            timeline_must_exist(conn, timeline_id)
            last_seq = conn.scalar(select(timelines.c.last_seq).where(timelines.c.id == timeline_id))
            row = {
                "id": webhook_id,
                "timeline_id": timeline_id,
                "url": spec.url,
                "secret": secret,
                "events": _kinds(spec.events),
                "key_events_only": spec.key_events_only,
                "description": spec.description,
                "created_at": created,
                **_state_values(DeliveryState(cursor=last_seq or 0)),
            }
            conn.execute(insert(webhooks).values(row))
            return _webhook(conn, timeline_id, webhook_id), secret

        return await self._write(work)

    @wrap_errors
    async def list_webhooks(self, timeline_id: str) -> list[Webhook]:
        """The timeline's subscriptions, oldest first. Raises `TimelineNotFoundError`."""
        query = select(webhooks).where(webhooks.c.timeline_id == timeline_id)

        def read(conn: Connection) -> list[Webhook]:
            timeline_must_exist(conn, timeline_id)
            rows = conn.execute(query.order_by(webhooks.c.created_at, webhooks.c.id))
            return [_public(row) for row in rows]

        return await self._read(read)

    @wrap_errors
    async def get_webhook(self, timeline_id: str, webhook_id: str) -> Webhook:
        """Raises `WebhookNotFoundError`."""
        return await self._read(lambda conn: _webhook(conn, timeline_id, webhook_id))

    @wrap_errors
    async def update_webhook(self, timeline_id: str, webhook_id: str, changes: Mapping[str, Any]) -> Webhook:
        """Change `url`, `events`, `key_events_only`, `description` or `enabled`. A subscription enabled
        again, or given a new URL, starts with a clean record and resumes from its cursor.
        Raises `WebhookNotFoundError`."""
        values = dict(changes)
        if "events" in values:
            values["events"] = _kinds(values["events"])
        if values.get("enabled") is True or "url" in values:
            values.update(_RESET)

        def work(conn: Connection) -> Webhook:
            _webhook(conn, timeline_id, webhook_id)
            if values:
                conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(values))
            return _webhook(conn, timeline_id, webhook_id)

        return await self._write(work)

    @wrap_errors
    async def delete_webhook(self, timeline_id: str, webhook_id: str) -> None:
        """Raises `WebhookNotFoundError`."""

        def work(conn: Connection) -> None:
            _webhook(conn, timeline_id, webhook_id)
            conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))

        await self._write(work)

    @wrap_errors
    async def rotate_webhook_secret(
        self, timeline_id: str, webhook_id: str, *, now: datetime | None = None
    ) -> tuple[Webhook, str]:
        """A new secret; the old one signs beside it for `ROTATION_GRACE`, while receivers switch.
        Raises `WebhookNotFoundError`."""
        secret, until = webhook_secret(), (now or utcnow()) + ROTATION_GRACE
        rotated = {"secret": secret, "previous_secret": webhooks.c.secret, "previous_until": until}

        def work(conn: Connection) -> tuple[Webhook, str]:
            _webhook(conn, timeline_id, webhook_id)
            conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(rotated))
            return _webhook(conn, timeline_id, webhook_id), secret

        return await self._write(work)

    @wrap_errors
    async def request_ping(self, timeline_id: str, webhook_id: str) -> Webhook:
        """Ask the deliverer to send a `ping` now, ahead of the subscription's changes and of any retry
        it is waiting for. Raises `WebhookNotFoundError`, or `WebhookDisabledError` (nothing is sent to a
        disabled subscription, so the ping would wait unseen until it is enabled again)."""
        query = update(webhooks).where(webhooks.c.id == webhook_id).values(ping_requested=True)

        def work(conn: Connection) -> Webhook:
            if not _webhook(conn, timeline_id, webhook_id).enabled:
                raise WebhookDisabledError(webhook_id)
            conn.execute(query)
            return _webhook(conn, timeline_id, webhook_id)

        return await self._write(work)

    @wrap_errors
    async def webhook_attempts(
        self, timeline_id: str, webhook_id: str, *, limit: int
    ) -> list[WebhookAttempt]:
        """The subscription's recent delivery attempts, newest first. Raises `WebhookNotFoundError`."""
        query = (
            select(webhook_attempts)
            .where(webhook_attempts.c.webhook_id == webhook_id)
            .order_by(webhook_attempts.c.id.desc())
            .limit(limit)
        )

        def read(conn: Connection) -> list[WebhookAttempt]:
            _webhook(conn, timeline_id, webhook_id)
            return [_attempt(row) for row in conn.execute(query)]

        return await self._read(read)

    @wrap_errors
    async def claim_webhooks(
        self, owner: str, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[Subscription]:
        """Lease up to `limit` enabled subscriptions with something to send whose lease is free: changes past
        their cursor once their retry is due, or a ping at once (an editor testing a failing receiver
        wants to know now); as `LeasesMixin.claim_due` leases sources."""
        until = now + timedelta(seconds=lease_seconds)
        due = (
            select(webhooks.c.id)
            .join(timelines, timelines.c.id == webhooks.c.timeline_id)
            .where(
                webhooks.c.enabled.is_(True),
                or_(
                    webhooks.c.ping_requested.is_(True),
                    and_(
                        webhooks.c.cursor < timelines.c.last_seq,
                        or_(webhooks.c.next_attempt_at.is_(None), webhooks.c.next_attempt_at <= now),
                    ),
                ),
                or_(webhooks.c.lease_until.is_(None), webhooks.c.lease_until < now),
            )
            .order_by(webhooks.c.next_attempt_at, webhooks.c.id)
            .limit(limit)
            .with_for_update(of=webhooks, skip_locked=True)
        )
        lease = {"lease_owner": owner, "lease_until": until}

        def work(conn: Connection) -> list[Subscription]:
            ids = list(conn.scalars(due).all())
            if not ids:
                return []
            conn.execute(update(webhooks).where(webhooks.c.id.in_(ids)).values(lease))
            rows = conn.execute(
                select(webhooks, timelines.c.last_seq)
                .join(timelines, timelines.c.id == webhooks.c.timeline_id)
                .where(webhooks.c.id.in_(ids))
            )
            return [_subscription(row, now) for row in rows]

        return await self._write(work)

    @wrap_errors
    async def save_delivery(
        self,
        owner: str,
        webhook_id: str,
        state: DeliveryState,
        attempts: Sequence[Attempt],
        *,
        lease_until: datetime | None,
    ) -> bool:
        """Keep what deliveries to a subscription did (its state and the attempts), in one transaction,
        and hold its lease until `lease_until`, or give it back (None). Only while `owner` holds the lease:
        False when it no longer does (it expired and another deliverer took over), and nothing is kept."""
        held = (webhooks.c.id == webhook_id) & (webhooks.c.lease_owner == owner)
        values = _saved_values(state)
        lease = {"lease_owner": owner if lease_until else None, "lease_until": lease_until}
        rows = [{"webhook_id": webhook_id, **_attempt_values(a)} for a in attempts]

        def work(conn: Connection) -> bool:
            if not conn.execute(update(webhooks).where(held).values({**values, **lease})).rowcount:
                return False
            if rows:
                conn.execute(insert(webhook_attempts), rows)
                _prune(conn, webhook_id)
            return True

        return await self._write(work)

    @wrap_errors
    async def finish_deliveries(
        self, owner: str, finished: Mapping[str, tuple[DeliveryState, Sequence[Attempt]]]
    ) -> None:
        """Keep what runs did (by webhook id: the state each ended in, and its attempts) and give their
        leases back, in one transaction: `save_delivery(…, lease_until=None)` for many at once. Only for
        subscriptions `owner` still holds; the attempts are kept either way (they were made)."""
        if not finished:
            return
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for webhook_id, (state, _) in finished.items():
            values = _saved_values(state)
            groups.setdefault(tuple(values), []).append({**values, "b_id": webhook_id})
        attempts = [
            {"webhook_id": webhook_id, **_attempt_values(a)}
            for webhook_id, (_, made) in finished.items()
            for a in made
        ]
        held = (webhooks.c.id == bindparam("b_id")) & (webhooks.c.lease_owner == owner)
        released = {"lease_owner": None, "lease_until": None}

        def work(conn: Connection) -> None:
            for columns, rows in groups.items():
                query = (
                    update(webhooks)
                    .where(held)
                    .values({**{name: bindparam(name) for name in columns}, **released})
                )
                conn.execute(query, rows)
            if attempts:
                conn.execute(insert(webhook_attempts), attempts)
                _prune(conn, *finished)

        await self._write(work)

    @wrap_errors
    async def release_webhooks(self, owner: str) -> None:
        """Give back every subscription lease `owner` holds (a deliverer shutting down)."""
        free = {"lease_owner": None, "lease_until": None}
        await self._write(
            lambda conn: conn.execute(update(webhooks).where(webhooks.c.lease_owner == owner).values(free))
        )


def _webhook(conn: Connection, timeline_id: str, webhook_id: str) -> Webhook:
    query = select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.timeline_id == timeline_id)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise WebhookNotFoundError(webhook_id)
    return _public(row)


# One subscription's attempts older than its `ATTEMPTS_KEPT` newest. The cutoff is the subscription's, found
# once per statement: a subquery correlated to each attempt was looked up again for every one of them, and
# with 100 subscriptions finishing together (bench.webhooks) that was 40 % of the deliverer's database time.
_PRUNE = delete(webhook_attempts).where(
    webhook_attempts.c.webhook_id == bindparam("b_id"),
    webhook_attempts.c.id
    < (
        select(webhook_attempts.c.id)
        .where(webhook_attempts.c.webhook_id == bindparam("b_id"))
        .order_by(webhook_attempts.c.id.desc())
        .offset(ATTEMPTS_KEPT - 1)
        .limit(1)
        .scalar_subquery()
    ),
)


def _prune(conn: Connection, *webhook_ids: str) -> None:
    """Keep the newest `ATTEMPTS_KEPT` attempts of each subscription."""
    conn.execute(_PRUNE, [{"b_id": webhook_id} for webhook_id in webhook_ids])


def _kinds(kinds: Sequence[str]) -> str:
    return orjson.dumps(sorted(set(kinds), key=("upsert", "delete").index)).decode()


def _state_values(state: DeliveryState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in _STATE_COLUMNS}


def _saved_values(state: DeliveryState) -> dict[str, Any]:
    """What a deliverer writes of a run's end: `enabled` only when it disabled the subscription itself,
    never the `enabled` it claimed with (an editor may have disabled it meanwhile)."""
    values = _state_values(state)
    if state.enabled:
        del values["enabled"], values["disabled_reason"]
    return values


def _state(row: Row[Any]) -> DeliveryState:
    return DeliveryState(**{name: getattr(row, name) for name in _STATE_COLUMNS})


def _health(state: DeliveryState) -> WebhookHealth:
    status = "disabled" if not state.enabled else "failing" if state.consecutive_failures else "active"
    return WebhookHealth(
        state=status,
        last_success_at=state.last_success_at,
        last_failure_at=state.last_failure_at,
        last_failure=state.last_failure,
        consecutive_failures=state.consecutive_failures,
        next_attempt_at=state.next_attempt_at if state.enabled else None,
        reason=state.disabled_reason if not state.enabled else None,
    )


def _public(row: Row[Any]) -> Webhook:
    state = _state(row)
    return Webhook(
        id=row.id,
        timeline_id=row.timeline_id,
        url=row.url,
        events=tuple(orjson.loads(row.events)),
        key_events_only=row.key_events_only,
        description=row.description,
        enabled=row.enabled,
        created_at=row.created_at,
        cursor=row.cursor,
        health=_health(state),
    )


def _subscription(row: Row[Any], now: datetime) -> Subscription:
    previous = row.previous_secret if row.previous_until and row.previous_until > now else None
    return Subscription(
        id=row.id,
        timeline_id=row.timeline_id,
        url=row.url,
        secrets=(row.secret, previous) if previous else (row.secret,),
        events=tuple(orjson.loads(row.events)),
        key_events_only=row.key_events_only,
        state=_state(row),
        last_seq=row.last_seq,
        lease_until=row.lease_until,
    )


def _attempt_values(attempt: Attempt) -> dict[str, Any]:
    return {name: getattr(attempt, name) for name in Attempt.__dataclass_fields__}


def _attempt(row: Row[Any]) -> WebhookAttempt:
    return WebhookAttempt(
        at=row.at,
        type=row.type,
        seq=row.seq,
        attempt=row.attempt,
        status_code=row.status_code,
        latency=row.latency,
        error=row.error,
    )
