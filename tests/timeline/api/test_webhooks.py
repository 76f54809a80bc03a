"""The webhook routes: keyed, the secret shown once, credentials hidden, problems for bad input."""

from __future__ import annotations

from typing import Any

from tests.timeline.api.conftest import Client
from tests.timeline.api.support import AUTH


def _hooks(timeline: dict[str, Any]) -> str:
    return f"/api/v1/timelines/{timeline['id']}/webhooks"


async def test_create_shows_the_secret_once_and_never_the_urls_credentials(
    client: Client, timeline: dict[str, Any]
) -> None:
    url = "https://desk:hunter2@hooks.example/in"
    created = await client.post(_hooks(timeline), json={"url": url, "description": "Desk"}, headers=AUTH)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and "hunter2" not in created.text
    assert body["url"] == "https://desk:***@hooks.example/in"
    assert (body["events"], body["key_events_only"], body["health"]["state"]) == (
        ["upsert", "delete"],
        False,
        "active",
    )
    assert created.headers["cache-control"] == "private, no-store"

    for path in (_hooks(timeline), f"{_hooks(timeline)}/{body['id']}"):
        read = await client.get(path, headers=AUTH)
        assert read.status_code == 200 and body["secret"] not in read.text and "hunter2" not in read.text

    rotated = await client.post(f"{_hooks(timeline)}/{body['id']}/rotate-secret", headers=AUTH)
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (body["secret"], None)


async def test_every_route_needs_a_key(client: Client, timeline: dict[str, Any]) -> None:
    hook = (await client.post(_hooks(timeline), json={"url": "https://hooks.example/"}, headers=AUTH)).json()
    one = f"{_hooks(timeline)}/{hook['id']}"
    calls = [
        ("GET", _hooks(timeline)),
        ("POST", _hooks(timeline)),
        ("GET", one),
        ("PATCH", one),
        ("DELETE", one),
        ("POST", f"{one}/rotate-secret"),
        ("POST", f"{one}/test"),
        ("GET", f"{one}/deliveries"),
    ]
    for method, path in calls:
        response = await client.request(method, path, json={} if method in ("POST", "PATCH") else None)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_patch_changes_filters_disables_and_enables(client: Client, timeline: dict[str, Any]) -> None:
    hook = (await client.post(_hooks(timeline), json={"url": "https://hooks.example/"}, headers=AUTH)).json()
    one = f"{_hooks(timeline)}/{hook['id']}"
    changed = await client.patch(
        one, json={"events": ["delete"], "key_events_only": True, "enabled": False}, headers=AUTH
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["events"], body["key_events_only"], body["enabled"], body["health"]["state"]) == (
        ["delete"],
        True,
        False,
        "disabled",
    )
    refused = await client.post(f"{one}/test", headers=AUTH)
    assert refused.status_code == 409 and refused.json()["type"].endswith("conflict.webhook_disabled")
    assert "enable it first" in refused.json()["detail"]
    enabled = (await client.patch(one, json={"enabled": True}, headers=AUTH)).json()
    assert enabled["health"]["state"] == "active"

    ping = await client.post(f"{one}/test", headers=AUTH)
    assert ping.status_code == 202
    assert (await client.get(f"{one}/deliveries", headers=AUTH)).json() == {"attempts": []}

    assert (await client.delete(one, headers=AUTH)).status_code == 204
    gone = await client.get(one, headers=AUTH)
    assert gone.status_code == 404 and gone.json()["type"].endswith("not_found.webhook")


async def test_bad_subscriptions_are_refused_with_the_field_named(
    client: Client, timeline: dict[str, Any]
) -> None:
    bodies = [
        ({"url": "ftp://hooks.example/"}, "url"),
        ({"url": "https://hooks.example/", "events": []}, "events"),
        ({"url": "https://hooks.example/", "events": ["upsert", "upsert"]}, "events"),
        ({"url": "https://hooks.example/", "events": ["created"]}, "events"),
        ({"url": "https://hooks.example/", "secret": "mine"}, "secret"),
    ]
    for body, field in bodies:
        response = await client.post(_hooks(timeline), json=body, headers=AUTH)
        assert response.status_code == 400, (body, response.text)
        assert field in response.json()["detail"], response.text
    missing = await client.post(
        "/api/v1/timelines/nope/webhooks", json={"url": "https://h.example/"}, headers=AUTH
    )
    assert missing.status_code == 404
