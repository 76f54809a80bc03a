"""Webhooks delivered by real `timeline` processes to a real receiver process, which verifies every
delivery with the `standardwebhooks` library.

Retries are quick here (`TIMELINE_WEBHOOK_RETRY_BASE`, `TIMELINE_WEBHOOK_TIMEOUT`); the tests wait for
outcomes, never for a time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.timeline.api.support import AUTH, LiveBlog
from tests.timeline.live.processes import live_env, running, server
from tests.timeline.live.writer import Writer, writing
from tests.timeline.webhooks.harness import (
    QUICK,
    answered,
    final_changes,
    has_all,
    receiver,
    seqs,
    subscribe,
    unpolled,
    verified,
)
from tests.upstream import Upstream
from timeline.store import WebhookSpec


async def test_polled_posts_edits_and_deletions_reach_the_receiver_signed_in_order(
    tmp_path: Path, sqlite_url: str
) -> None:
    blog = LiveBlog()
    blog.post("b1", "Polls open", minute=0)
    async with (
        receiver(tmp_path) as rx,
        Upstream(routes={"/blog": blog.route()}) as upstream,
        server("serve", live_env(sqlite_url, **QUICK), tmp_path / "serve.log") as serve,
        httpx.AsyncClient(base_url=serve.url, headers=AUTH) as http,
    ):
        slug = (await http.post("/api/v1/timelines", json={"title": "Election night"})).json()["slug"]
        await http.post(f"/api/v1/timelines/{slug}/sources", json={"url": upstream.url("/blog")})
        created = (
            await http.post(f"/api/v1/timelines/{slug}/webhooks", json={"url": rx.hook("desk")})
        ).json()
        await rx.setup("desk", [created["secret"]])
        hook = f"/api/v1/timelines/{slug}/webhooks/{created['id']}"
        assert (await http.post(f"{hook}/test")).status_code == 202
        [ping] = await rx.until("desk", lambda r: len(r) == 1)
        assert (ping["verified"], ping["type"], ping["status"]) == (True, "ping", 200)

        blog.post("b2", "First exit poll", minute=10, key_event=True)
        await rx.until("desk", lambda r: len(verified(r)) == 1)
        blog.edit("b1", "Polls opened at 7am")
        await rx.until("desk", lambda r: len(verified(r)) == 2)
        blog.delete("b2")
        posted, edited, deleted = verified(await rx.until("desk", lambda r: len(verified(r)) == 3))

        assert [r["type"] for r in (posted, edited, deleted)] == [
            "event.upsert",
            "event.upsert",
            "event.delete",
        ]
        assert posted["seq"] < edited["seq"] < deleted["seq"]
        events = f"/api/v1/timelines/{slug}/events"
        async with httpx.AsyncClient(base_url=serve.url) as public:  # without the key: as readers see it
            assert edited["event"] == (await public.get(f"{events}/{edited['event']['id']}")).json()
        assert deleted["event"]["id"] == posted["event"]["id"] and deleted["event"]["deleted"] is True
        assert "body_html" not in deleted["event"]  # a deletion carries only the tombstone

        attempts = (await http.get(f"{hook}/deliveries")).json()["attempts"]
        assert [(a["type"], a["status_code"], a["attempt"]) for a in attempts] == [
            ("event.delete", 200, 1),
            ("event.upsert", 200, 1),
            ("event.upsert", 200, 1),
            ("ping", 200, 1),
        ]
        health = (await http.get(hook)).json()["health"]
        assert (health["state"], health["consecutive_failures"]) == ("active", 0)
        assert (
            'timeline_webhook_deliveries_total{outcome="delivered"} 4.0' in (await http.get("/metrics")).text
        )


async def test_a_burst_arrives_once_per_subscription_in_seq_order_and_filters_hold(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with receiver(tmp_path) as rx, writing(sqlite_url) as writer:
        start = await unpolled(writer)
        await subscribe(writer, rx, "all")
        await subscribe(writer, rx, "deletes", WebhookSpec(rx.hook("deletes"), events=("delete",)))
        await subscribe(writer, rx, "keys", WebhookSpec(rx.hook("keys"), key_events_only=True))
        async with running(["worker"], live_env(sqlite_url, **QUICK), tmp_path / "worker.log"):
            await writer.post_many([f"e{n}" for n in range(40)], "Update")
            for n in range(10):
                await writer.post(f"e{n}", f"Update {n}, corrected")
                await writer.delete(f"e{n + 20}")
            await writer.post("k1", "A key event", key_event=True)
            final = await final_changes(writer, start)
            every = verified(await rx.until("all", has_all(final)))
            deletions = {seq for seq, event in final.items() if event["deleted"]}
            only_deletes = verified(await rx.until("deletes", lambda r: len(verified(r)) == len(deletions)))
            keys = verified(await rx.until("keys", lambda r: len(verified(r)) >= 1 + len(deletions)))

        for got in (every, only_deletes, keys):
            assert seqs(got) == sorted(set(seqs(got))), "in seq order, each once"
        assert {r["seq"]: r["event"] for r in every if r["seq"] in final} == final
        assert len(await rx.received("all")) == len(every), "each change sent once: nothing failed"
        assert set(seqs(only_deletes)) == deletions
        assert all(r["type"] == "event.delete" for r in only_deletes)
        upserts = [r for r in keys if r["type"] == "event.upsert"]
        assert [r["event"]["body_text"] for r in upserts] == ["A key event"]


async def test_a_failing_receiver_is_retried_and_then_gets_everything_in_order(
    tmp_path: Path, sqlite_url: str
) -> None:
    script: list[Any] = [500, "hang", "reset", 503, 307, 200]
    async with receiver(tmp_path) as rx, writing(sqlite_url) as writer:
        start = await unpolled(writer)
        hook_id = await subscribe(writer, rx, "flaky", script=script)
        async with running(["worker"], live_env(sqlite_url, **QUICK), tmp_path / "worker.log"):
            for n in range(10):
                await writer.post(f"e{n}", f"Update {n}")
            final = await final_changes(writer, start)
            received = await rx.until("flaky", lambda r: set(final) <= set(seqs(answered(r))))

        assert [r["status"] for r in received[:6]] == [500, None, None, 503, 307, 200]
        assert len({r["seq"] for r in received[:6]}) == 1, "the failed change was retried, not skipped"
        assert seqs(answered(received)) == sorted(final)
        attempts = await writer.store.webhook_attempts(writer.timeline_id, hook_id, limit=100)
        first = list(reversed(attempts))[:6]
        assert [a.attempt for a in first] == [1, 2, 3, 4, 5, 6]
        assert "1 s" in (first[1].error or "")  # the timeout, said with its setting
        assert "redirect: not followed" in (first[4].error or "")
        hook = await writer.store.get_webhook(writer.timeline_id, hook_id)
        assert (hook.health.state, hook.health.consecutive_failures) == ("active", 0)
        assert (hook.health.last_failure or "").startswith("the receiver answered 307")


async def test_410_disables_and_enabling_again_resumes_from_the_cursor(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with receiver(tmp_path) as rx, writing(sqlite_url) as writer:
        start = await unpolled(writer)
        hook, secret = await writer.store.create_webhook(writer.timeline_id, WebhookSpec(rx.hook("gone")))
        hook_id = hook.id
        await rx.setup("gone", [secret], [200, 410])
        async with running(["worker"], live_env(sqlite_url, **QUICK), tmp_path / "worker.log"):
            first = await writer.post("e0", "Delivered")
            await rx.until("gone", lambda r: len(r) == 1)
            await writer.post("e1", "Refused with 410")
            await writer.post("e2", "Waits")
            await rx.until("gone", lambda r: len(r) == 2)
            hook = await _until_state(writer, hook_id, "disabled")
            assert (hook.health.reason, hook.cursor) == ("the receiver answered 410 Gone", first.seq)

            await rx.setup("gone", [secret], [200])
            await writer.store.update_webhook(writer.timeline_id, hook_id, {"enabled": True})
            final = await final_changes(writer, start)
            received = await rx.until("gone", lambda r: set(final) <= set(seqs(answered(r))))
        delivered, refused, waited = sorted(final)
        assert delivered == first.seq
        assert seqs(received) == [delivered, refused, refused, waited]


async def test_a_receiver_failing_for_the_whole_retry_window_is_disabled_with_its_reason(
    tmp_path: Path, sqlite_url: str
) -> None:
    window = {**QUICK, "TIMELINE_WEBHOOK_RETRY_HOURS": str(1 / 3600)}  # one second
    async with receiver(tmp_path) as rx, writing(sqlite_url) as writer:
        await unpolled(writer)
        hook_id = await subscribe(writer, rx, "down", script=[500])
        async with running(["worker"], live_env(sqlite_url, **window), tmp_path / "worker.log"):
            await writer.post("e0", "Never delivered")
            hook = await _until_state(writer, hook_id, "disabled")
        reason = hook.health.reason or ""
        assert reason.startswith("failing for ") and "TIMELINE_WEBHOOK_RETRY_HOURS" in reason
        assert reason.endswith("last: the receiver answered 500")
        assert hook.health.consecutive_failures >= 2


async def test_a_ping_goes_at_once_to_a_receiver_waiting_for_its_retry(
    tmp_path: Path, sqlite_url: str
) -> None:
    """An editor tests a failing receiver to see whether it is back: the ping must not wait for the
    change's retry (an hour away here), and the change must keep waiting for it."""
    slow_retry = {**QUICK, "TIMELINE_WEBHOOK_RETRY_BASE": "3600"}
    async with receiver(tmp_path) as rx, writing(sqlite_url) as writer:
        await unpolled(writer)
        hook_id = await subscribe(writer, rx, "back", script=[500, 200])
        async with running(["worker"], live_env(sqlite_url, **slow_retry), tmp_path / "worker.log"):
            change = await writer.post("e0", "Refused once")
            await _until_state(writer, hook_id, "failing")
            await writer.store.request_ping(writer.timeline_id, hook_id)
            received = await rx.until("back", lambda r: len(r) == 2)
            # A run's attempts are kept together when it ends: once the ping's is, the run is over.
            async with asyncio.timeout(60):
                while not any(a.type == "ping" for a in await _attempts(writer, hook_id)):
                    await asyncio.sleep(0.1)
            hook = await writer.store.get_webhook(writer.timeline_id, hook_id)
        assert await rx.received("back") == received, "the change kept waiting for its retry"
        assert hook.health.state == "failing" and hook.cursor < change.seq
        assert [(r["type"], r["status"]) for r in received] == [("event.upsert", 500), ("ping", 200)]
        assert received[0]["seq"] == change.seq
        assert await rx.received("back") == received, "the changes waited for their retry"


async def test_a_rotated_secret_signs_beside_the_old_one(tmp_path: Path, sqlite_url: str) -> None:
    """Receivers that still have the old secret keep verifying while those given the new one switch."""
    async with receiver(tmp_path) as rx, writing(sqlite_url) as writer:
        await unpolled(writer)
        hook, old = await writer.store.create_webhook(writer.timeline_id, WebhookSpec(rx.hook("old")))
        await rx.setup("old", [old])
        async with running(["worker"], live_env(sqlite_url, **QUICK), tmp_path / "worker.log") as worker:
            await writer.post("e0", "Before")
            await rx.until("old", lambda r: len(verified(r)) == 1)
            _, new = await writer.store.rotate_webhook_secret(writer.timeline_id, hook.id)
            await writer.post("e1", "After, to the old secret")
            await rx.until("old", lambda r: len(verified(r)) == 2)
            await writer.store.update_webhook(writer.timeline_id, hook.id, {"url": rx.hook("new")})
            await rx.setup("new", [new])
            await writer.post("e2", "After, to the new secret")
            [after] = await rx.until("new", lambda r: len(r) == 1)
        assert after["verified"] and after["event"]["body_text"] == "After, to the new secret"
        assert (
            old.removeprefix("whsec_") not in worker.output()
            and new.removeprefix("whsec_") not in worker.output()
        )
        assert all(r["verified"] for r in await rx.received("old"))


async def test_private_receivers_are_refused_by_default(tmp_path: Path, sqlite_url: str) -> None:
    guarded = {**live_env(sqlite_url, **QUICK), "TIMELINE_ALLOW_PRIVATE_SOURCES": "0"}
    async with receiver(tmp_path) as rx, writing(sqlite_url) as writer:
        await unpolled(writer)
        hook_id = await subscribe(writer, rx, "inside")
        async with running(["worker"], guarded, tmp_path / "worker.log"):
            await writer.post("e0", "Must not leave")
            hook = await _until_state(writer, hook_id, "failing")
        assert "127.0.0.1 is a loopback address" in (hook.health.last_failure or "")
        assert await rx.received("inside") == []
        [attempt, *_] = await writer.store.webhook_attempts(writer.timeline_id, hook_id, limit=1)
        assert (attempt.status_code, attempt.type) == (None, "event.upsert")


async def _attempts(writer: Writer, hook_id: str) -> list[Any]:
    return await writer.store.webhook_attempts(writer.timeline_id, hook_id, limit=100)


async def _until_state(writer: Writer, hook_id: str, state: str) -> Any:
    async with asyncio.timeout(60):
        while (hook := await writer.store.get_webhook(writer.timeline_id, hook_id)).health.state != state:
            await asyncio.sleep(0.1)
    return hook
