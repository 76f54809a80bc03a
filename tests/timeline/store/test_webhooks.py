"""Webhook subscriptions in the store: managed by the API, leased and advanced by deliverers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.timeline.store.drafts import draft, minutes
from timeline.errors import TimelineNotFoundError, WebhookNotFoundError
from timeline.models import Source, Timeline
from timeline.store import Attempt, Store, WebhookSpec
from timeline.store._webhooks import ATTEMPTS_KEPT

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
RECEIVER = "https://hooks.example/in"


async def _write(store: Store, source: Source, *ids: str) -> int:
    drafts = [
        draft(source.id, upstream, f"Update {upstream}", at=minutes(n)) for n, upstream in enumerate(ids)
    ]
    return (await store.apply(source.id, drafts, complete=False, now=NOW)).last_seq


async def test_a_subscription_starts_at_the_timelines_seq_and_never_shows_its_secret(
    store: Store, timeline: Timeline, source: Source
) -> None:
    before = await _write(store, source, "a", "b")
    created, secret = await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    assert secret.startswith("whsec_") and secret not in created.model_dump_json()
    assert created.cursor == before and created.health.state == "active"
    assert await store.list_webhooks(timeline.id) == [created]
    rotated, new_secret = await store.rotate_webhook_secret(timeline.id, created.id, now=NOW)
    assert new_secret != secret and rotated == created
    with pytest.raises(WebhookNotFoundError):
        await store.get_webhook("tl_other", created.id)
    with pytest.raises(TimelineNotFoundError):
        await store.create_webhook("tl_missing", WebhookSpec(RECEIVER))


async def test_only_subscriptions_behind_their_timeline_are_claimed_and_by_one_owner_at_a_time(
    store: Store, timeline: Timeline, source: Source
) -> None:
    hook, secret = await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    assert await store.claim_webhooks("a", now=NOW, lease_seconds=30, limit=10) == []
    last = await _write(store, source, "a")
    [claimed] = await store.claim_webhooks("a", now=NOW, lease_seconds=30, limit=10)
    assert (claimed.id, claimed.last_seq, claimed.secrets) == (hook.id, last, (secret,))
    assert await store.claim_webhooks("b", now=NOW, lease_seconds=30, limit=10) == []

    moved = replace(claimed.state, cursor=last, last_success_at=NOW)
    attempt = Attempt(NOW, "event.upsert", last, 1, 204, 0.01)
    assert not await store.save_delivery("b", hook.id, moved, [attempt], lease_until=None)
    assert await store.save_delivery("a", hook.id, moved, [attempt], lease_until=None)
    assert (await store.get_webhook(timeline.id, hook.id)).cursor == last
    assert await store.claim_webhooks("b", now=NOW, lease_seconds=30, limit=10) == []
    [seen] = await store.webhook_attempts(timeline.id, hook.id, limit=10)
    assert (seen.seq, seen.status_code, seen.error) == (last, 204, None)


async def test_an_expired_lease_is_claimed_by_another_and_the_first_owner_can_no_longer_save(
    store: Store, timeline: Timeline, source: Source
) -> None:
    hook, _ = await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    await _write(store, source, "a")
    [first] = await store.claim_webhooks("a", now=NOW, lease_seconds=30, limit=10)
    later = NOW + timedelta(seconds=31)
    [second] = await store.claim_webhooks("b", now=later, lease_seconds=30, limit=10)
    assert second.id == hook.id
    assert not await store.save_delivery("a", hook.id, first.state, [], lease_until=None)


async def test_a_disabled_subscription_waits_until_enabled_and_then_resumes_with_a_clean_record(
    store: Store, timeline: Timeline, source: Source
) -> None:
    hook, _ = await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    await _write(store, source, "a")
    [claimed] = await store.claim_webhooks("a", now=NOW, lease_seconds=30, limit=10)
    gone = replace(
        claimed.state, enabled=False, disabled_reason="the receiver answered 410 Gone", consecutive_failures=1
    )
    assert await store.save_delivery("a", hook.id, gone, [], lease_until=None)
    health = (await store.get_webhook(timeline.id, hook.id)).health
    assert (health.state, health.reason) == ("disabled", "the receiver answered 410 Gone")
    assert await store.claim_webhooks("a", now=NOW, lease_seconds=30, limit=10) == []

    enabled = await store.update_webhook(timeline.id, hook.id, {"enabled": True})
    assert (enabled.health.state, enabled.health.consecutive_failures, enabled.cursor) == (
        "active",
        0,
        hook.cursor,
    )
    assert len(await store.claim_webhooks("a", now=NOW, lease_seconds=30, limit=10)) == 1


async def test_a_ping_is_claimable_without_changes_and_attempts_are_kept_to_the_newest(
    store: Store, timeline: Timeline
) -> None:
    hook, _ = await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    await store.request_ping(timeline.id, hook.id)
    [claimed] = await store.claim_webhooks("a", now=NOW, lease_seconds=30, limit=10)
    attempts = [Attempt(NOW, "ping", None, n, 200, 0.01) for n in range(1, ATTEMPTS_KEPT + 6)]
    done = replace(claimed.state, ping_requested=False)
    assert await store.save_delivery("a", hook.id, done, attempts, lease_until=None)
    kept = await store.webhook_attempts(timeline.id, hook.id, limit=500)
    assert [a.attempt for a in kept] == list(range(ATTEMPTS_KEPT + 5, 5, -1))
    assert await store.claim_webhooks("a", now=NOW, lease_seconds=30, limit=10) == []


async def test_runs_finished_together_each_keep_their_own_newest_attempts(
    store: Store, timeline: Timeline
) -> None:
    busy, _ = await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    quiet, _ = await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    for hook in (busy, quiet):
        await store.request_ping(timeline.id, hook.id)
    claimed = {c.id: c for c in await store.claim_webhooks("a", now=NOW, lease_seconds=30, limit=10)}
    made = {busy.id: ATTEMPTS_KEPT + 3, quiet.id: 5}
    await store.finish_deliveries(
        "a",
        {
            hook_id: (
                replace(claimed[hook_id].state, ping_requested=False),
                [Attempt(NOW, "ping", None, n, 200, 0.01) for n in range(1, count + 1)],
            )
            for hook_id, count in made.items()
        },
    )
    for hook_id, count in made.items():
        kept = await store.webhook_attempts(timeline.id, hook_id, limit=500)
        assert [a.attempt for a in kept] == list(range(count, max(count - ATTEMPTS_KEPT, 0), -1))


async def test_deleting_the_timeline_deletes_its_subscriptions(store: Store, timeline: Timeline) -> None:
    hook, _ = await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    await store.delete_webhook(timeline.id, hook.id)
    with pytest.raises(WebhookNotFoundError):
        await store.delete_webhook(timeline.id, hook.id)
    await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    await store.delete_timeline(timeline.id)
    with pytest.raises(TimelineNotFoundError):
        await store.list_webhooks(timeline.id)


async def test_the_ends_of_many_runs_are_kept_in_one_go_and_only_where_the_owner_still_holds(
    store: Store, timeline: Timeline, source: Source
) -> None:
    mine, _ = await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    lost, _ = await store.create_webhook(timeline.id, WebhookSpec(RECEIVER), now=NOW)
    last = await _write(store, source, "a")
    claimed = {c.id: c for c in await store.claim_webhooks("a", now=NOW, lease_seconds=30, limit=10)}
    later = NOW + timedelta(seconds=31)
    [taken] = await store.claim_webhooks("b", now=later, lease_seconds=30, limit=1)
    kept = next(hook for hook in (mine, lost) if hook.id != taken.id)
    attempt = Attempt(NOW, "event.upsert", last, 1, 200, 0.01)
    gone = replace(
        claimed[kept.id].state, cursor=last, enabled=False, disabled_reason="the receiver answered 410 Gone"
    )
    await store.finish_deliveries(
        "a",
        {
            kept.id: (gone, [attempt]),
            taken.id: (replace(claimed[taken.id].state, cursor=last), [attempt]),
        },
    )
    saved = await store.get_webhook(timeline.id, kept.id)
    assert (saved.cursor, saved.health.state, saved.health.reason) == (
        last,
        "disabled",
        "the receiver answered 410 Gone",
    )
    assert (await store.get_webhook(timeline.id, taken.id)).cursor < last, "b holds it: a's end is not kept"
    assert [a.seq for a in await store.webhook_attempts(timeline.id, kept.id, limit=10)] == [last]
