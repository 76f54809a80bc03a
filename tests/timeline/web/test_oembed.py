"""`/oembed`: oEmbed 1.0 rich responses for this service's URLs, and its errors as problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.timeline.api.support import assert_problem
from tests.timeline.web.embedding import BASE, Site, election_blog, site, web_settings

HOSTILE = '"><script>alert(1)</script>'


@pytest.fixture
async def election(tmp_path: Path) -> AsyncIterator[Site]:
    async with site(web_settings(tmp_path), election_blog(), title=f"Election {HOSTILE}") as opened:
        yield opened


async def oembed(election: Site, url: str, **params: Any) -> dict[str, Any]:
    response = await election.client.get("/oembed", params={"url": url, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=300"
    body: dict[str, Any] = response.json()
    return body


async def test_an_embed_url_gets_a_rich_response(election: Site) -> None:
    slug = election.timeline["slug"]
    body = await oembed(election, f"{BASE}/embed/{slug}", format="json")
    html = body.pop("html")
    assert body == {
        "version": "1.0",
        "type": "rich",
        "title": f"Election {HOSTILE}",
        "provider_name": "liveblog-timeline",
        "provider_url": f"{BASE}/",
        "width": 600,
        "height": 800,
        "cache_age": 300,
    }
    snippet = HTMLParser(html)
    frame = snippet.css_first("iframe")
    assert frame.attributes["src"] == f"{BASE}/embed/{slug}"
    assert frame.attributes["title"] == f"Election {HOSTILE}"  # escaped in the attribute, intact here
    assert "data-live-timeline" in frame.attributes
    assert (frame.attributes["width"], frame.attributes["height"]) == ("600", "800")
    assert [s.attributes["src"] for s in snippet.css("script")] == [f"{BASE}/embed-host.js"]
    assert "<script>alert" not in html


@pytest.mark.parametrize("path", ["/api/v1/timelines/{id}", "/api/v1/timelines/{slug}", "/embed/{id}/"])
async def test_timeline_urls_by_id_or_slug_are_ours_too(election: Site, path: str) -> None:
    url = BASE + path.format(id=election.timeline["id"], slug=election.timeline["slug"])
    body = await oembed(election, url)
    assert f'src="{BASE}/embed/{election.timeline["slug"]}"' in body["html"]


async def test_maxwidth_and_maxheight_bound_the_size(election: Site) -> None:
    body = await oembed(election, f"{BASE}/embed/{election.timeline['id']}", maxwidth=320, maxheight=240)
    assert (body["width"], body["height"]) == (320, 240)
    assert 'width="320" height="240"' in body["html"]
    roomy = await oembed(election, f"{BASE}/embed/{election.timeline['id']}", maxwidth=5000)
    assert roomy["width"] == 600


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example/embed/{id}",
        "http://testserver.evil.example/embed/{id}",
        "http://testserver/api/v1/timelines/{id}/events",
        "http://testserver/other/{id}",
        "ftp://testserver/embed/{id}",
        "not a url",
        "http://[testserver/embed/{id}",
        "http://testserver/embed/%00{id}",
    ],
)
async def test_urls_that_are_not_ours_are_404(election: Site, url: str) -> None:
    response = await election.client.get("/oembed", params={"url": url.format(id=election.timeline["id"])})
    assert_problem(response, 404, "oembed.not_ours", parameter="url")


async def test_an_unknown_timeline_is_404(election: Site) -> None:
    response = await election.client.get("/oembed", params={"url": f"{BASE}/embed/no-such-timeline"})
    assert_problem(response, 404, "not_found.timeline")


@pytest.mark.parametrize("format", ["xml", "yaml"])
async def test_formats_other_than_json_are_501(election: Site, format: str) -> None:
    url = f"{BASE}/embed/{election.timeline['id']}"
    response = await election.client.get("/oembed", params={"url": url, "format": format})
    assert_problem(response, 501, "oembed.format")


async def test_a_missing_url_is_400(election: Site) -> None:
    body = assert_problem(await election.client.get("/oembed"), 400, "invalid_request")
    assert "'url'" in body["detail"]


async def test_a_size_below_one_is_400(election: Site) -> None:
    params = {"url": f"{BASE}/embed/{election.timeline['id']}", "maxwidth": "0"}
    response = await election.client.get("/oembed", params=params)
    assert_problem(response, 400, "invalid_request", parameter="maxwidth")


async def test_consumers_on_other_origins_may_read_it(election: Site) -> None:
    response = await election.client.get(
        "/oembed",
        params={"url": f"{BASE}/embed/{election.timeline['id']}"},
        headers={"Origin": "https://news.example"},
    )
    assert response.headers["access-control-allow-origin"] == "*"
