"""The app as a whole: health, readiness, metrics, problems for what no handler answers, and 500s."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from litestar.exceptions import LitestarDeprecationWarning

from tests.timeline.api.conftest import Client
from tests.timeline.api.support import AUTH, PROBLEM, asgi_client, assert_problem, build_app, running
from timeline.api import create_app
from timeline.models import Found, Source
from timeline.settings import Settings
from timeline.store import ApplyResult, Store
from timeline.wiring import polling


async def test_healthz_and_readyz(client: Client) -> None:
    health = await client.get("/healthz")
    ready = await client.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_metrics_count_requests_by_route_template(client: Client, timeline: dict[str, Any]) -> None:
    await client.get(f"/api/v1/timelines/{timeline['id']}/events")
    await client.get("/api/v1/timelines/nope/events")

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = dict(
        line.rsplit(" ", 1) for line in response.text.splitlines() if line.startswith("timeline_http_req")
    )
    events = 'route="/api/v1/timelines/{timeline}/events"'
    assert samples[f'timeline_http_requests_total{{method="GET",{events},status="200"}}'] == "1.0"
    assert samples[f'timeline_http_requests_total{{method="GET",{events},status="404"}}'] == "1.0"
    assert (
        samples['timeline_http_requests_total{method="POST",route="/api/v1/timelines",status="201"}'] == "1.0"
    )
    assert timeline["id"] not in response.text, "raw paths would make labels unbounded"
    assert "timeline_http_request_duration_seconds_bucket" in response.text


async def test_metrics_count_304s(client: Client, timeline: dict[str, Any]) -> None:
    url = f"/api/v1/timelines/{timeline['id']}/events"
    tag = (await client.get(url)).headers["etag"]
    await client.get(url, headers={"If-None-Match": tag})

    text = (await client.get("/metrics")).text

    assert re.search(r"^timeline_http_not_modified_total 1\.0$", text, re.MULTILINE)


async def test_metrics_name_their_charset_once(client: Client) -> None:
    response = await client.get("/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"


async def test_what_no_route_answers_is_a_problem_too(client: Client) -> None:
    assert_problem(await client.get("/api/v1/nowhere"), 404, "not_found")
    assert_problem(await client.put("/api/v1/timelines", headers=AUTH), 405, "method_not_allowed")


@pytest.mark.parametrize("body", [b"{not json", b'{"title": "x"', b"\xff\xfe"])
async def test_a_malformed_json_body_is_400(client: Client, body: bytes) -> None:
    response = await client.post(
        "/api/v1/timelines", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"]


async def test_a_malformed_json_body_names_the_body(client: Client) -> None:
    response = await client.post(
        "/api/v1/timelines", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert_problem(response, 400, "invalid_request", parameter="body")


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "Ok", "slug": "Not A Slug"}, "slug"),
        ({"title": "Ok", "colour": "red"}, "colour"),
        ([{"title": "Ok"}], "body"),
    ],
)
async def test_a_body_of_the_wrong_shape_names_the_field(client: Client, body: Any, parameter: str) -> None:
    response = await client.post("/api/v1/timelines", json=body, headers=AUTH)
    assert_problem(response, 400, "invalid_request", parameter=parameter)


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"url": "ftp://news.example/live"}, "url"),
        ({"url": "not a url"}, "url"),
        ({}, "url"),
        ({"url": "https://news.example/live", "adapter": "rss"}, "adapter"),
    ],
)
async def test_a_bad_source_names_the_field(
    client: Client, timeline: dict[str, Any], body: dict[str, str], parameter: str
) -> None:
    response = await client.post(f"/api/v1/timelines/{timeline['id']}/sources", json=body, headers=AUTH)
    assert_problem(response, 400, "invalid_request", parameter=parameter)


async def test_a_bad_update_names_the_field(client: Client, timeline: dict[str, Any]) -> None:
    response = await client.patch(
        f"/api/v1/timelines/{timeline['id']}", json={"status": "paused"}, headers=AUTH
    )
    assert_problem(response, 400, "invalid_request", parameter="status")


class Exploding:
    """Polling that fails the way only a bug can: nothing real raises a bare RuntimeError on request."""

    async def attach(self, timeline_id: str, url: str, adapter: str) -> tuple[Source, ApplyResult, Found]:
        raise RuntimeError("secret internals: password=hunter2")

    async def poll_now(self, source_id: str) -> ApplyResult:
        raise AssertionError("unreachable")


@asynccontextmanager
async def exploding(_store: Store) -> AsyncIterator[Exploding]:
    yield Exploding()


async def test_an_unexpected_error_is_logged_with_its_trace_and_shown_without(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_app(settings, polling=exploding)
    async with running(app), asgi_client(app) as http:
        await http.post("/api/v1/timelines", json={"title": "Oops"}, headers=AUTH)
        with caplog.at_level(logging.ERROR, logger="timeline.api"):
            response = await http.post(
                "/api/v1/timelines/oops/sources", json={"url": "https://news.example/live"}, headers=AUTH
            )

    problem = assert_problem(response, 500, "internal")
    request_id = problem["request_id"]
    assert request_id and request_id in problem["detail"]
    assert "secret" not in response.text and "RuntimeError" not in response.text
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "/api/v1/timelines/oops/sources" in logged[0].getMessage()
    assert "Traceback" in caplog.text and "secret internals" in caplog.text


def test_the_app_builds_without_deprecation_warnings(settings: Settings) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", LitestarDeprecationWarning)
        create_app(settings, polling=polling(settings))
