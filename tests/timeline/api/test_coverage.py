"""The embed page's JSON-LD says what coverage the sources declare, and derives it only when they don't."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from selectolax.lexbor import LexborHTMLParser

from tests.timeline.api.conftest import Client
from tests.timeline.api.support import AUTH
from tests.upstream import Upstream, respond
from timeline.web.jsonld import Coverage

SCHEMA_ORG = "html_jsonld_schemaorg_eg-0424_liveblogposting.html"
T = [datetime(2024, 5, 1, hour, tzinfo=UTC) for hour in range(6)]


def test_declared_times_win_and_an_end_needs_every_source() -> None:
    assert Coverage.of([], first=T[1], last=None) == Coverage(T[1], None)
    assert Coverage.of([(T[2], None), (T[0], None)], first=T[1], last=T[5]) == Coverage(T[0], T[5])
    assert Coverage.of([(None, T[3]), (None, T[4])], first=T[1], last=None) == Coverage(T[1], T[4])
    assert Coverage.of([(None, T[3]), (None, None)], first=T[1], last=None) == Coverage(T[1], None)


async def test_the_embed_page_carries_the_coverage_its_source_declares(
    client: Client, timeline: dict[str, Any], upstream: Upstream, fixture_bytes: Callable[[str], bytes]
) -> None:
    html = {"Content-Type": "text/html; charset=utf-8"}
    upstream.routes["/live"] = respond("200 OK", html, fixture_bytes(SCHEMA_ORG))
    added = await client.post(
        f"/api/v1/timelines/{timeline['id']}/sources", json={"url": upstream.url("/live")}, headers=AUTH
    )
    assert added.status_code == 201, added.text

    page = LexborHTMLParser((await client.get(f"/embed/{timeline['slug']}")).text)
    (block,) = page.css('script[type="application/ld+json"]')
    document = orjson.loads(block.text())
    assert (document["coverageStartTime"], document["coverageEndTime"]) == (
        "2015-03-09T18:30:00Z",
        "2015-03-09T23:00:00Z",
    )
