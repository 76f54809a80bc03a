"""HTTP as a real `timeline api` process speaks it, read off the socket: HEAD, OPTIONS and `Allow`, CORS that
does not depend on the request, and content codings chosen by `Accept-Encoding`.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import brotli
import orjson
import pytest

from tests.timeline.api.served import Raw, Seeded, raw, raw_head_of, seeded_api
from tests.timeline.api.support import KEY, PROBLEM

TL = "/api/v1/timelines/clockwatch"
EXPOSED = {"ETag", "Link"}
WIDGET = files("timeline.web").joinpath("static", "widget.js").read_bytes()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Iterator[Seeded]:
    with seeded_api(tmp_path_factory.mktemp("wire"), fixtures_dir) as served:
        yield served


def read_paths(api: Seeded) -> list[str]:
    """One URL of every GET route, errors included."""
    embed = f"http://127.0.0.1:{api.port}/embed/clockwatch"
    return [
        "/healthz", "/readyz", "/schema/openapi.json", "/api/v1/timelines", TL, "/api/v1/sources",
        f"{TL}/events", f"{TL}/events?limit=2&order=asc", f"{TL}/events?after={api.cursor}",
        f"{TL}/events/{api.event_id}", f"{TL}/events/{api.event_id}/revisions", f"{TL}/changes?since=1",
        f"{TL}/feed.atom", f"{TL}/feed.json", f"{TL}/timelinejs.json",
        "/embed/clockwatch", "/embed/no-such-timeline", f"/oembed?url={embed}",
        "/widget.js", "/embed.js", "/embed-host.js", "/embed.css",
        "/api/v1/timelines/no-such-timeline/events", f"{TL}/events?limit=0", "/api/v1/nowhere",
    ]  # fmt: skip


def test_head_is_get_without_the_body(api: Seeded) -> None:
    """Twice each: the second HEAD of a timeline read finds a fresh seq and is answered by the cache front."""
    for path in read_paths(api):
        got = raw(api.port, "GET", path)
        for _ in range(2):
            head = raw(api.port, "HEAD", path)
            assert (head.status, head.body) == (got.status, b""), path
            assert head.without() == got.without(), path
            if got.status == 200:
                assert head.header("content-length") == str(len(got.body)), path


def test_head_of_a_304_and_of_a_compressed_read(api: Seeded) -> None:
    for path in (f"{TL}/events", "/embed/clockwatch", "/widget.js", f"{TL}/feed.atom"):
        zipped = raw(api.port, "GET", path, {"Accept-Encoding": "gzip"})
        head = raw(api.port, "HEAD", path, {"Accept-Encoding": "gzip"})
        assert head.without() == zipped.without() and head.body == b"", path
        assert head.header("content-length") == str(len(zipped.body)), path
        tag = {"If-None-Match": zipped.header("etag") or ""}
        assert (raw(api.port, "HEAD", path, tag).status, raw(api.port, "GET", path, tag).status) == (304, 304)


def test_heads_are_counted_as_heads(api: Seeded) -> None:
    raw(api.port, "HEAD", "/readyz")
    metrics = raw(api.port, "GET", "/metrics").body.decode()
    assert 'timeline_http_requests_total{method="HEAD",route="/readyz",status="200"}' in metrics


def test_head_of_the_stream_ends_with_its_head(api: Seeded) -> None:
    head = raw_head_of(api.port, "HEAD", f"{TL}/stream")
    assert head.status == 200 and head.header("content-type") == "text/event-stream; charset=utf-8"
    assert head.body == b""


ALLOWED = {
    "/api/v1/timelines": {"GET", "HEAD", "OPTIONS", "POST"},
    TL: {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH"},
    f"{TL}/events": {"GET", "HEAD", "OPTIONS", "POST"},
    f"{TL}/sources": {"OPTIONS", "POST"},
    "/healthz": {"GET", "HEAD", "OPTIONS"},
    "/widget.js": {"GET", "HEAD", "OPTIONS"},
    "/embed/clockwatch": {"GET", "HEAD", "OPTIONS"},
}


@pytest.mark.parametrize(("path", "methods"), ALLOWED.items())
def test_options_and_405_list_every_method_of_the_path(api: Seeded, path: str, methods: set[str]) -> None:
    options = raw(api.port, "OPTIONS", path)
    refused = raw(api.port, "PUT", path)
    assert options.status == 204 and options.listed("allow") == methods
    assert refused.status == 405 and refused.listed("allow") == methods
    assert refused.header("content-type") == PROBLEM


def _cors(response: Raw) -> None:
    assert response.header("access-control-allow-origin") == "*"
    assert response.listed("access-control-expose-headers") >= EXPOSED
    assert "Origin" not in response.listed("vary")


def test_every_read_is_open_to_every_origin_whether_it_says_so_or_not(api: Seeded) -> None:
    """`Access-Control-Allow-Origin: *` whatever the request: a shared cache may give any reader any copy."""
    for path in read_paths(api):
        plain = raw(api.port, "GET", path)
        told = raw(api.port, "GET", path, {"Origin": "https://news.example"})
        head = raw(api.port, "HEAD", path, {"Origin": "https://news.example"})
        for response in (plain, told, head):
            _cors(response)
        if path not in ("/readyz", "/schema/openapi.json"):  # neither is cached: compare no repeats
            assert told.without() == plain.without(), path


SEQUENCE = [
    {}, {"Origin": "https://a.example"}, {"Accept-Encoding": "gzip"}, {},
    {"Origin": "https://b.example", "Accept-Encoding": "br"}, {"Accept-Encoding": "gzip;q=0"},
    {"Accept-Encoding": "gzip", "Origin": "https://a.example"}, {}, {"Accept-Encoding": "br"}, {},
]  # fmt: skip


@pytest.mark.parametrize("path", [f"{TL}/events", f"{TL}/events?limit=12", "/embed/clockwatch", "/widget.js"])
def test_what_one_request_gets_never_depends_on_the_requests_before(api: Seeded, path: str) -> None:
    """Origin, HEAD and codings in turn on one stored page (answered from memory after the first): each
    request gets what the same request got the first time."""
    first: dict[tuple[tuple[str, str], ...], Raw] = {}
    for headers in SEQUENCE:
        if headers:
            raw(api.port, "HEAD", path, headers)
        response = raw(api.port, "GET", path, headers)
        assert response.status == 200
        same = first.setdefault(tuple(sorted(headers.items())), response)
        assert (response.without(), response.body) == (same.without(), same.body), headers


def test_a_preflight_opens_reads_only(api: Seeded) -> None:
    origin = {"Origin": "https://news.example"}
    read = raw(
        api.port,
        "OPTIONS",
        f"{TL}/events",
        {**origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "if-none-match"},
    )
    assert read.status == 204 and read.header("access-control-allow-origin") == "*"
    assert {"GET", "HEAD"} <= read.listed("access-control-allow-methods")
    for method in ("POST", "PATCH", "DELETE"):
        refused = raw(
            api.port, "OPTIONS", "/api/v1/timelines", {**origin, "Access-Control-Request-Method": method}
        )
        assert refused.status == 403 and refused.header("content-type") == PROBLEM, method
        problem = orjson.loads(refused.body)
        assert problem["status"] == 403 and problem["parameter"] == "Access-Control-Request-Method"
        assert method not in refused.listed("access-control-allow-methods")


def test_widget_js_goes_out_compressed(api: Seeded) -> None:
    plain = raw(api.port, "GET", "/widget.js")
    zipped = raw(api.port, "GET", "/widget.js", {"Accept-Encoding": "gzip, deflate"})
    brotlied = raw(api.port, "GET", "/widget.js", {"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert plain.body == WIDGET and plain.header("content-encoding") is None
    assert zipped.header("content-encoding") == "gzip" and gzip.decompress(zipped.body) == WIDGET
    assert brotlied.header("content-encoding") == "br" and brotli.decompress(brotlied.body) == WIDGET
    # Far smaller on the wire, and within the widget's 15 KB budget (gzip's is what the budget counts).
    assert len(brotlied.body) < len(zipped.body) <= 15 * 1024 and len(zipped.body) * 2 < len(plain.body)
    for response in (plain, zipped, brotlied):
        assert "Accept-Encoding" in response.listed("vary")
        assert response.header("content-length") == str(len(response.body))
    tags = [response.header("etag") or "" for response in (plain, zipped, brotlied)]
    assert len(set(tags)) == 3 and not any(tag.startswith("W/") for tag in tags)


@pytest.mark.parametrize(
    "path",
    [f"{TL}/events?limit=12", f"{TL}/changes", f"{TL}/feed.atom", f"{TL}/feed.json", "/embed/clockwatch",
     "/schema/openapi.json", "/embed.css"],
)  # fmt: skip
def test_text_reads_go_out_in_the_coding_asked_for(api: Seeded, path: str) -> None:
    plain = raw(api.port, "GET", path)
    zipped = raw(api.port, "GET", path, {"Accept-Encoding": "gzip"})
    brotlied = raw(api.port, "GET", path, {"Accept-Encoding": "br;q=0.9, gzip;q=0.5"})
    assert zipped.header("content-encoding") == "gzip" and gzip.decompress(zipped.body) == plain.body
    assert brotlied.header("content-encoding") == "br" and brotli.decompress(brotlied.body) == plain.body
    assert len(zipped.body) < len(plain.body) / (4 if len(plain.body) > 10_000 else 1.5)
    assert plain.header("content-type") == zipped.header("content-type") == brotlied.header("content-type")


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        (None, None), ("", None), ("identity", None), ("gzip;q=0", None), ("gzip;q=0, br;q=0", None),
        ("*;q=0", None), ("br;q=0, *", "gzip"), ("*", "br"), ("x-gzip", "gzip"), ("GZIP;Q=0.5", "gzip"),
        ("gzip;q=0.4, identity;q=0.5", None), ("gzip, identity;q=0", "gzip"),
        ("br;q=0.1, gzip;q=0.2", "gzip"),
    ],
)  # fmt: skip
def test_accept_encoding_weights_are_honoured(api: Seeded, accept: str | None, coding: str | None) -> None:
    response = raw(api.port, "GET", f"{TL}/events", {"Accept-Encoding": accept} if accept is not None else {})
    assert response.status == 200 and response.header("content-encoding") == coding


def test_small_bodies_go_out_as_they_are_unless_identity_is_refused(api: Seeded) -> None:
    small = raw(api.port, "GET", "/healthz", {"Accept-Encoding": "gzip"})
    refused = raw(api.port, "GET", "/healthz", {"Accept-Encoding": "gzip, identity;q=0"})
    assert small.header("content-encoding") is None and small.body == b'{"status":"ok"}'
    assert refused.header("content-encoding") == "gzip" and gzip.decompress(refused.body) == small.body


def test_a_large_problem_is_compressed_too(api: Seeded) -> None:
    body = orjson.dumps({"title": "x", **{f"extra_{n}": n for n in range(60)}})
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", "Accept-Encoding": "gzip"}
    response = raw(api.port, "POST", "/api/v1/timelines", auth, body)
    assert response.status == 400 and response.header("content-type") == PROBLEM
    assert response.header("content-encoding") == "gzip"
    assert orjson.loads(gzip.decompress(response.body))["type"].endswith("invalid_request")


def test_the_stream_is_never_compressed(api: Seeded) -> None:
    stream = raw_head_of(
        api.port, "GET", f"{TL}/stream", {"Accept-Encoding": "gzip, br", "Origin": "https://x.y"}
    )
    assert stream.status == 200 and stream.header("content-encoding") is None
    assert "Accept-Encoding" not in stream.listed("vary")
    _cors(stream)
    assert b"retry:" in stream.body


def test_each_representation_revalidates_to_a_304_with_its_own_tag(api: Seeded) -> None:
    for path in (f"{TL}/events", "/widget.js", "/embed/clockwatch", TL):
        for accept in ("gzip", "br", "identity"):
            first = raw(api.port, "GET", path, {"Accept-Encoding": accept})
            tag = first.header("etag") or ""
            again = raw(api.port, "GET", path, {"Accept-Encoding": accept, "If-None-Match": tag})
            weak = raw(api.port, "GET", path, {"Accept-Encoding": accept, "If-None-Match": f"W/{tag}"})
            assert (again.status, again.body, again.header("etag")) == (304, b"", tag), (path, accept)
            assert "Accept-Encoding" in again.listed("vary")
            _cors(again)
            assert weak.status == 304 and weak.header("etag") == tag
