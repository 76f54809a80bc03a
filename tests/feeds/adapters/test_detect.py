"""Format sniffing and the `parse` entry point."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from feeds.adapters import ADAPTERS, NAMES, detect, parse
from feeds.errors import FormatNotDetectedError, InvalidDocumentError

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


# --- JSON is read as JSON -------------------------------------------------------------------------------

JSON_FEED = (
    b'\xef\xbb\xbf\n  {"items": [{"content_text": "Polls close at 10pm.",'
    b' "id": "https:\\/\\/news.example\\/1", "url": "https:\\/\\/news.example\\/1",'
    b' "date_published": "2024-05-01T20:00:00Z"}],'
    b' "title": "Election night", "version": "https:\\/\\/jsonfeed.org\\/version\\/1.1"}'
)


def test_a_json_feed_with_escaped_slashes_keys_in_any_order_and_a_bom() -> None:
    assert detect("application/json", JSON_FEED) == "syndication"

    (update,) = parse(JSON_FEED, "https://news.example/feed.json").updates

    assert (update.upstream_id, update.url) == ("https://news.example/1", "https://news.example/1")
    assert update.body_html == "<p>Polls close at 10pm.</p>"


def test_a_json_feed_whose_version_comes_after_megabytes_of_items() -> None:
    items = [{"id": str(n), "content_text": "x" * 1000} for n in range(2000)]
    body = orjson.dumps({"items": items, "version": "https://jsonfeed.org/version/1"})

    snapshot = parse(body, "https://news.example/feed.json")

    assert (snapshot.adapter, len(snapshot.updates)) == ("syndication", 2000)


@pytest.mark.parametrize(
    ("document", "adapter"),
    [
        (
            {"response": {"total": 1, "content": {"id": "x", "blocks": {"body": []}}, "status": "ok"}},
            "guardian",
        ),
        ({"userTier": "developer", "response": {"content": {"blocks": {"body": []}}}}, "guardian"),
        ({"latest_timestamp": 1, "refresh_interval": 10, "entries": []}, "wordpress"),
        ([{"type": "new", "id": 1, "entry_time": 1700000000}], "wordpress"),
        ({"items": [], "version": "HTTPS://JSONFEED.ORG/version/1"}, "syndication"),
    ],
)
def test_json_formats_in_any_key_order(document: object, adapter: str) -> None:
    assert detect(None, b"\n " + orjson.dumps(document)) == adapter


@pytest.mark.parametrize(
    ("head", "adapter"),
    [
        (b'{"response": {"status": "ok", "content": {"blocks": {"body": [{"id": "a", "bod', "guardian"),
        (b'{"latest_timestamp": 1, "entries": [{"id": "1", "render": "<p>cut', "wordpress"),
        (b'{"title": "x", "version": "https:\\/\\/jsonfeed.org\\/version\\/1", "items": [{', "syndication"),
        (b'{"response": {"content": {"blocks": {"body": [,,]}}}}', "guardian"),  # broken, not cut
    ],
)
def test_json_that_does_not_parse_is_read_as_far_as_it_goes(head: bytes, adapter: str) -> None:
    assert detect(None, head) == adapter


def test_broken_json_goes_to_its_adapter_which_says_what_is_wrong() -> None:
    with pytest.raises(InvalidDocumentError, match="not valid JSON"):
        parse(b'{"response": {"content": {"blocks": {"body": [', "https://x.example/")


@pytest.mark.parametrize("name", [name for name, adapter in FIXTURES.items() if name.endswith(".json")])
def test_json_read_by_detection_gives_what_the_pinned_adapter_gives(
    fixture_bytes: Callable[[str], bytes], name: str
) -> None:
    body = fixture_bytes(name)

    assert parse(body, "https://x.example/") == parse(body, "https://x.example/", adapter=FIXTURES[name])


def test_json_in_utf16_is_read_too(fixture_bytes: Callable[[str], bytes]) -> None:
    body = fixture_bytes("guardian_capi_liveblog_clockwatch_2023-12-23_first12blocks.json")
    wide = body.decode().encode("utf-16")

    assert parse(wide, "https://x.example/") == parse(body, "https://x.example/")


# --- XML in every encoding XML can tell from its first bytes ----------------------------------------------

RSS_ITEMS = (
    '<rss version="2.0"><channel><title>Live ü</title>'
    "<item><guid>urn:live:a1</guid><title>Über “quotes” 😀</title>"
    "<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate></item>"
    "<item><guid>urn:live:a2</guid><title>Ελληνικά</title></item></channel></rss>"
)
ATOM_ENTRIES = (
    '<feed xmlns="http://www.w3.org/2005/Atom"><title>Live ü</title>'
    "<entry><id>urn:live:a1</id><title>Über “quotes” 😀</title>"
    "<updated>2024-05-01T10:00:00Z</updated></entry>"
    "<entry><id>urn:live:a2</id><title>Ελληνικά</title><updated>2024-05-01T09:00:00Z</updated></entry></feed>"
)
ENCODINGS = [
    ("utf-8", b"\xef\xbb\xbf"),
    ("utf-8", b""),
    ("utf-16-le", b"\xff\xfe"),
    ("utf-16-le", b""),
    ("utf-16-be", b"\xfe\xff"),
    ("utf-16-be", b""),
    ("utf-32-le", b"\xff\xfe\x00\x00"),
    ("utf-32-le", b""),
    ("utf-32-be", b"\x00\x00\xfe\xff"),
    ("utf-32-be", b""),
]


@pytest.mark.parametrize("adapter", ["auto", "syndication"])
@pytest.mark.parametrize("declaration", ["named", "utf-8", "none"])
@pytest.mark.parametrize("document", [RSS_ITEMS, ATOM_ENTRIES], ids=["rss", "atom"])
@pytest.mark.parametrize(
    ("codec", "mark"), ENCODINGS, ids=[f"{c}{'+bom' if m else ''}" for c, m in ENCODINGS]
)
def test_feeds_in_every_encoding_parse_end_to_end(
    codec: str, mark: bytes, document: str, declaration: str, adapter: str
) -> None:
    named = codec.upper().replace("-LE", "LE").replace("-BE", "BE") if not mark else codec[:6].upper()
    prolog = {"named": f'<?xml version="1.0" encoding="{named}"?>\n', "utf-8": '<?xml version="1.0"?>\n'}
    body = mark + (prolog.get(declaration, "") + document).encode(codec)

    if adapter == "auto":
        assert detect(None, body) == "syndication"
    snapshot = parse(body, "https://feeds.example/", adapter=adapter)

    assert [(u.upstream_id, u.title) for u in snapshot.updates] == [
        ("urn:live:a1", "Über “quotes” 😀"),
        ("urn:live:a2", "Ελληνικά"),
    ]
    assert snapshot.title == "Live ü"
    assert snapshot.warnings == ()
