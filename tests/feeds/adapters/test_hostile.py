"""Hostile and broken input: every adapter returns a snapshot or raises a ParseError, and nothing else."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.adapters import NAMES, parse
from feeds.errors import ParseError
from feeds.types import ParsedSnapshot

BASE = "https://hostile.example/live"
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
    + b']><rss version="2.0"><channel><item><guid>1</guid><title>&i;</title></item></channel></rss>'
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><item><guid>1</guid><title>&x;</title></item></channel></rss>'
)
HOSTILE = {
    "empty": b"",
    "whitespace": b" \r\n\t" * 1000,
    "binary": random.Random(0).randbytes(100_000),
    "nul bytes": b"\x00" * 10_000,
    "invalid utf-8": b'{"entries": [{"id": "\xff\xfe"}]}',
    "nested arrays": b"[" * 100_000,
    "5 MB of nesting": b"[" * 5_000_000,
    "nested objects": b'{"a":' * 100_000,
    "nested xml": b"<rss>" + b"<a>" * 20_000,
    "10 MB of nested xml": b'<rss version="2.0"><channel><item><title>' + b"<a>" * 3_300_000,
    "nested html": b'<script type="application/ld+json">{}</script>' + b"<div>" * 200_000,
    "billion laughs": LAUGHS,
    "external entity": XXE,
    "a path": b"/etc/passwd",
    "a url": b"http://127.0.0.1:9/feed",
    "huge number": b'[{"id": 1, "entry_time": ' + b"9" * 5000 + b"}]",
    "json-ld nesting": b'<script type="application/ld+json">' + b"[" * 1_000_000 + b"</script>",
    "json-ld escaped quotes": b'<script type="application/ld+json">"' + b'\\"' * 500_000 + b"</script>",
    "json-ld comment opener": b'<script type="application/ld+json">' + b"/*" * 500_000 + b"</script>",
    "json-ld many scripts": b'<script type="application/ld+json">{,}</script>' * 10_000,
    "guardian wrong types": orjson.dumps(
        {
            "response": {
                "content": {
                    "webUrl": 5,
                    "fields": [],
                    "blocks": {
                        "body": [1, {"id": 5, "attributes": []}, {"id": "a", "firstPublishedDate": 12}],
                        "requestedBodyBlocks": [],
                        "totalBodyBlocks": "3",
                    },
                }
            }
        }
    ),
    "json-ld wrong types": b'<script type="application/ld+json">{"@type": "LiveBlogPosting", "headline": 5, '
    b'"liveBlogUpdate": [1, "x", null, {"@id": [1]}, {"datePublished": "garbage"}, {"url": "http://[x", '
    b'"datePublished": {"x": 1}, "author": [{"name": 3}, "Bob"], "image": [{"url": 5}], '
    b'"articleBody": ["x"]}]}</script>',
    "wordpress wrong types": orjson.dumps(
        {
            "entries": [
                {"id": True},
                {"id": 1.5},
                {"id": "9" * 5000},
                {"id": "7", "authors": "x", "render": 3},
                None,
            ]
        }
    ),
    "json feed wrong types": orjson.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [
                1,
                {"id": {}},
                {"id": "a", "attachments": [{"url": 5}], "tags": "x", "authors": {"name": 1}},
            ],
        }
    ),
}


def check(body: bytes, adapter: str) -> None:
    try:
        snapshot = parse(body, BASE, adapter=adapter)
    except ParseError:
        return
    assert isinstance(snapshot, ParsedSnapshot)


@pytest.mark.parametrize("adapter", NAMES)
@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input(body: bytes, adapter: str) -> None:
    check(body, adapter)


@pytest.mark.parametrize("adapter", NAMES)
@pytest.mark.parametrize("cut", [1, 2, 3])
def test_truncated_fixtures(
    fixture_bytes: Callable[[str], bytes], fixtures_dir: Path, adapter: str, cut: int
) -> None:
    for path in sorted(fixtures_dir.glob("*.*")):
        if path.suffix in (".json", ".xml", ".html"):
            body = fixture_bytes(path.name)
            check(body[: len(body) * cut // 4], adapter)


def test_external_entities_are_not_resolved() -> None:
    try:
        snapshot = parse(XXE, BASE)
    except ParseError:
        return
    assert not any("root:" in (u.title or "") + u.body_html for u in snapshot.updates)


def test_entity_expansion_is_refused_or_inert() -> None:
    try:
        snapshot = parse(LAUGHS, BASE)
    except ParseError:
        return
    assert all(len(u.title or "") < 1000 for u in snapshot.updates)


def test_too_many_warnings_are_summarised() -> None:
    body = orjson.dumps({"entries": [{"type": "new"} for _ in range(500)]})

    warnings = parse(body, BASE).warnings

    assert len(warnings) == 21
    assert warnings[-1] == "… and 480 more warnings"


# --- fuzzing ----------------------------------------------------------------------------------------------

KEYS = [
    "response", "content", "blocks", "body", "requestedBodyBlocks", "totalBodyBlocks", "id", "attributes",
    "pinned", "keyEvent", "summary", "title", "firstPublishedDate", "lastModifiedDate", "createdBy",
    "elements",
    "assets", "file", "type", "fields", "liveBloggingNow", "webUrl", "@type", "@graph", "@id", "url",
    "liveBlogUpdate", "datePublished", "headline", "articleBody", "author", "image", "video", "name",
    "coverageEndTime", "entries", "entry_time", "render", "key_event", "authors", "css_classes", "version",
    "items", "content_html", "content_text", "date_published", "attachments", "tags", "expired",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        ["LiveBlogPosting", "image", "delete", "2024-05-01T10:00:00Z", "/x", "_:b", "false", ""]
    )
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), children, max_size=6)
    ),
    max_leaves=30,
)
WRAPPERS: dict[str, Callable[[object], object]] = {
    "guardian": lambda v: {"response": {"content": {"blocks": {"body": v, "requestedBodyBlocks": {"x": v}}}}},
    "wordpress": lambda v: {"entries": v},
    "syndication": lambda v: {"version": "https://jsonfeed.org/version/1", "items": v},
    "jsonld": lambda v: {"@type": "LiveBlogPosting", "liveBlogUpdate": v},
}


def encode(adapter: str, value: object) -> bytes:
    document = json.dumps(WRAPPERS[adapter](value)).encode()  # json, unlike orjson, writes 70-bit integers
    if adapter == "jsonld":
        return b'<script type="application/ld+json">' + document + b"</script>"
    return document


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.sampled_from(sorted(WRAPPERS)), JSON)
def test_fuzzed_structures(adapter: str, value: object) -> None:
    check(encode(adapter, value), adapter)


@FUZZ
@given(st.sampled_from(NAMES), st.binary(max_size=600))
def test_fuzzed_bytes(adapter: str, body: bytes) -> None:
    check(body, adapter)


@FUZZ
@given(st.sampled_from(NAMES), st.text(alphabet='<>/![]{}",:-?&;#x \n\\*CDATAcdata', max_size=200))
def test_fuzzed_markup(adapter: str, text: str) -> None:
    check(text.encode(), adapter)
