"""Keyed reads on the wire of a real `timeline api` process: their public answers say `Vary:
Authorization` on every 304 as on the 200 (the cache front's included), and a page of another origin may
send a key with a read (the preflight names `Authorization`), but still not write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.timeline.api.served import Seeded, raw, seeded_api
from tests.timeline.api.support import KEY

TL = "/api/v1/timelines/clockwatch"
ORIGIN = {"Origin": "https://console.example"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Iterator[Seeded]:
    with seeded_api(tmp_path_factory.mktemp("keyed"), fixtures_dir) as served:
        yield served


@pytest.mark.parametrize("read", ["/events/{event}", "/events/{event}/revisions"])
def test_every_304_of_a_keyed_read_varies_by_authorization(api: Seeded, read: str) -> None:
    """Revalidated in a row, so that the cache front (a fresh seq, under a second old) answers most."""
    path = TL + read.format(event=api.event_id)
    first = raw(api.port, "GET", path)
    assert first.status == 200 and "Authorization" in first.listed("vary")
    for _ in range(5):
        again = raw(api.port, "GET", path, {"If-None-Match": first.header("etag") or ""})
        assert again.status == 304 and again.listed("vary") == first.listed("vary"), again.headers


def test_the_304_of_a_public_read_does_not_vary_by_authorization(api: Seeded) -> None:
    first = raw(api.port, "GET", f"{TL}/events")
    again = raw(api.port, "GET", f"{TL}/events", {"If-None-Match": first.header("etag") or ""})
    assert again.status == 304 and "Authorization" not in again.listed("vary") | first.listed("vary")


def test_a_preflight_lets_another_origin_read_with_a_key(api: Seeded) -> None:
    asked = {
        **ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    preflight = raw(api.port, "OPTIONS", f"{TL}/events/{api.event_id}", asked)
    assert preflight.status == 204
    assert "authorization" in {name.lower() for name in preflight.listed("access-control-allow-headers")}
    keyed = raw(api.port, "GET", f"{TL}/events/{api.event_id}", {**ORIGIN, "Authorization": f"Bearer {KEY}"})
    assert keyed.status == 200 and keyed.header("access-control-allow-origin") == "*"
    write = {
        **ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    assert raw(api.port, "OPTIONS", "/api/v1/timelines", write).status == 403
