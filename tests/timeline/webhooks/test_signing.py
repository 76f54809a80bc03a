"""Signatures as the `standardwebhooks` library verifies them, and the retry decisions (pure)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from timeline.ids import webhook_secret
from timeline.models import ChangeKind
from timeline.store import ChangeDoc, DeliveryState, Subscription
from timeline.webhooks import messages, signing
from timeline.webhooks.retry import Failure, RetryPolicy, delivered, failed, retry_delay, wanted

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
POLICY = RetryPolicy(window=timedelta(hours=1), base=5.0, cap=600.0)


def test_every_secret_signs_and_the_library_accepts_each() -> None:
    old, new = webhook_secret(), webhook_secret()
    body = messages.ping_body("tl_x", NOW)
    timestamp = int(datetime.now(UTC).timestamp())
    headers = signing.headers([new, old], "msg_1", timestamp, body)
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {
            "type": "ping",
            "timestamp": "2026-12-07T12:00:00Z",
            "data": {"timeline": "tl_x"},
        }
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body + b" ", headers)


def test_a_change_carries_the_stored_json_as_it_is() -> None:
    doc = '{"id":"ev_1","seq":7,"deleted":true,"published_at":"2024-05-01T12:00:00Z"}'
    body = messages.change_body("tl_x", ChangeDoc(7, True, doc), NOW)
    head = b'{"type":"event.delete","timestamp":"2026-12-07T12:00:00Z","data":{"timeline":"tl_x","seq":7,'
    assert body == head + b'"event":' + doc.encode() + b"}}"
    assert messages.change_id("wh_a", 7) == messages.change_id("wh_a", 7) != messages.change_id("wh_b", 7)


def _subscription(
    events: tuple[ChangeKind, ...] = ("upsert", "delete"), *, key_events_only: bool = False
) -> Subscription:
    state = DeliveryState(0)
    return Subscription("wh_a", "tl_x", "https://h.example/", ("s",), events, key_events_only, state, 0, NOW)


def test_filters() -> None:
    key = ChangeDoc(1, False, '{"key_event": true}')
    plain = ChangeDoc(2, False, '{"key_event": false}')
    gone = ChangeDoc(3, True, '{"deleted": true}')
    assert [wanted(_subscription(), c) for c in (key, plain, gone)] == [True, True, True]
    assert [wanted(_subscription(key_events_only=True), c) for c in (key, plain, gone)] == [True, False, True]
    assert [wanted(_subscription(("delete",)), c) for c in (key, plain, gone)] == [False, False, True]


def test_backoff_doubles_with_jitter_up_to_its_cap_and_honours_retry_after() -> None:
    rng = random.Random(1)
    for failures, ceiling in ((1, 5.0), (2, 10.0), (3, 20.0), (20, 600.0)):
        delays = [retry_delay(failures, Failure("x"), POLICY, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert retry_delay(1, Failure("x", retry_after=120), POLICY, rng) == 120
    assert retry_delay(1, Failure("x", retry_after=10**9), POLICY, rng) == 600


def test_a_failure_run_ends_in_success_or_is_disabled_after_the_window_or_by_410() -> None:
    rng = random.Random(1)
    state = failed(DeliveryState(3), Failure("the receiver answered 500"), NOW, POLICY, rng)
    assert (state.consecutive_failures, state.failing_since, state.enabled) == (1, NOW, True)
    assert state.next_attempt_at is not None and state.next_attempt_at > NOW
    later = failed(state, Failure("again"), NOW + timedelta(hours=1), POLICY, rng)
    assert (later.enabled, later.consecutive_failures) == (False, 2)
    assert later.disabled_reason == "failing for 1 h (TIMELINE_WEBHOOK_RETRY_HOURS); last: again"
    gone = failed(DeliveryState(3), Failure("the receiver answered 410", gone=True), NOW, POLICY, rng)
    assert (gone.enabled, gone.disabled_reason) == (False, "the receiver answered 410 Gone")
    recovered = delivered(state, 4, NOW)
    assert (recovered.cursor, recovered.consecutive_failures, recovered.failing_since) == (4, 0, None)
