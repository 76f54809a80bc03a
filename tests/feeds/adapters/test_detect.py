"""Format sniffing and the `parse` entry point."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from feeds.adapters import ADAPTERS, NAMES, detect, parse
from feeds.errors import FormatNotDetectedError

FIXTURES = {
    "guardian_capi_liveblog_clockwatch_2023-12-23_first12blocks.json": "guardian",
    "html_jsonld_timesofindia_ipl2020_liveblog_HEAD_ONLY.html": "jsonld",
    "html_jsonld_schemaorg_eg-0424_liveblogposting.html": "jsonld",
    "wordpress_liveblog_polling_response.json": "wordpress",
    "wordpress_liveblog_key_events.json": "wordpress",
    "rss_bbc_urdu_cdata_rtl.xml": "syndication",
    "atom_github_commits.xml": "syndication",
    "atom_rfc4287_example.xml": "syndication",
    "jsonfeed_1.1_spec_simple_example.json": "syndication",
    "jsonfeed_feedparser_example_with_test_key.json": "syndication",
    "malformed_rss_incomplete_cdata.xml": "syndication",
    "malformed_rss_item_link_corrupted_ampersands.xml": "syndication",
    "malformed_rss_undeclared_namespace.xml": "syndication",
    "malformed_rss_double_encoded_html.xml": "syndication",
    "malformed_rss_unclosed_root.xml": "syndication",
}


@pytest.mark.parametrize(("name", "adapter"), FIXTURES.items())
def test_every_fixture_is_recognised(fixture_bytes: Callable[[str], bytes], name: str, adapter: str) -> None:
    assert detect(None, fixture_bytes(name)) == adapter


@pytest.mark.parametrize(
    ("head", "adapter"),
    [
        (b'\xef\xbb\xbf  {"response": {"status": "ok", "content": {"id": "x"}}}', "guardian"),
        (b'{"entries": [], "latest_timestamp": 1}', "wordpress"),
        (b'[{"id": "1", "type": "new", "entry_time": 1700000000}]', "wordpress"),
        (b'{"title": "x", "version": "https://jsonfeed.org/version/1", "items": []}', "syndication"),
        (b'<!-- hi --><?xml version="1.0"?>\n<!-- there -->\n<rss version="2.0">', "syndication"),
        (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "b">]><rss>', "syndication"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom">', "syndication"),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">', "syndication"),
        ('<?xml version="1.0" encoding="utf-16"?><rss>'.encode("utf-16"), "syndication"),
        (b"<!DOCTYPE html><html><head><title>x</title>", "jsonld"),
        (b"  <HTML lang=en>", "jsonld"),
        (b'<div><script type="application/ld+json">{}</script>', "jsonld"),
    ],
)
def test_sniffing(head: bytes, adapter: str) -> None:
    assert detect(None, head) == adapter


def test_a_truncated_head_is_enough() -> None:
    head = b'{"response": {"status": "ok", "userTier": "developer", "content": {"id": "x", "blocks": {"body'

    assert detect("application/json", head) == "guardian"


@pytest.mark.parametrize(
    ("content_type", "adapter"),
    [
        ("application/rss+xml; charset=utf-8", "syndication"),
        ("application/feed+json", "syndication"),
        ("text/xml", "syndication"),
        ("TEXT/HTML; charset=ISO-8859-1", "jsonld"),
    ],
)
def test_content_type_decides_when_the_bytes_do_not(content_type: str, adapter: str) -> None:
    assert detect(content_type, b"something else") == adapter


def test_bytes_win_over_a_wrong_content_type() -> None:
    assert detect("text/html", b'<rss version="2.0">') == "syndication"


@pytest.mark.parametrize(
    "head", [b"", b"   \n", b'{"a": 1}', b"[1, 2]", b"\x00\x01\xfe binary", b"plain text"]
)
def test_unknown_formats_are_named(head: bytes) -> None:
    with pytest.raises(FormatNotDetectedError) as raised:
        detect("application/octet-stream", head)

    message = str(raised.value)
    assert all(name in message for name in ADAPTERS)
    assert raised.value.kind == "parse.format_not_detected"


def test_parse_detects_and_carries_the_url() -> None:
    with pytest.raises(FormatNotDetectedError) as raised:
        parse(b"nothing", "https://x.example/live")

    assert raised.value.url == "https://x.example/live"


def test_parse_auto_equals_parse_pinned(fixture_bytes: Callable[[str], bytes]) -> None:
    body = fixture_bytes("atom_rfc4287_example.xml")

    assert parse(body, "https://x.example/") == parse(body, "https://x.example/", adapter="syndication")


def test_pinned_adapter_skips_detection() -> None:
    body = b'{"entries": [{"id": 1, "entry_time": 1700000000}]}'

    assert (
        parse(body, "https://x.example/", adapter="wordpress", content_type="text/html").adapter
        == "wordpress"
    )


def test_unknown_adapter_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="auto, guardian, jsonld, syndication, wordpress"):
        parse(b"", "https://x.example/", adapter="rss")


def test_names() -> None:
    assert NAMES == ("auto", "guardian", "jsonld", "syndication", "wordpress")
    assert set(NAMES) - {"auto"} == set(ADAPTERS)
