"""RSS, Atom, RDF and JSON Feed adapter: real feeds, feedparser's ill-formed cases, feeds written here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest

from feeds.adapters import syndication
from feeds.errors import InvalidDocumentError, ParseError
from feeds.types import ParsedSnapshot

BASE = "https://feeds.example/live/feed.xml"
MALFORMED = [
    "malformed_rss_incomplete_cdata.xml",
    "malformed_rss_item_link_corrupted_ampersands.xml",
    "malformed_rss_undeclared_namespace.xml",
    "malformed_rss_double_encoded_html.xml",
    "malformed_rss_unclosed_root.xml",
]

Fixture = Callable[[str], bytes]


def rss(*items: str) -> bytes:
    channel = f"<channel><title>Live</title>{''.join(items)}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def json_feed(*items: dict[str, object], **fields: object) -> bytes:
    return orjson.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": list(items), **fields}
    )


# --- real feeds --------------------------------------------------------------------------------------


def test_bbc_urdu_rss(fixture_bytes: Fixture) -> None:
    snapshot = syndication.parse(fixture_bytes("rss_bbc_urdu_cdata_rtl.xml"), BASE)

    assert len(snapshot.updates) == 26
    assert len({u.upstream_id for u in snapshot.updates}) == 26
    first = snapshot.updates[0]
    assert first.upstream_id == first.url == "http://www.bbc.com/urdu/pakistan-42575603"
    assert first.published_at == datetime(2018, 1, 5, 16, 51, tzinfo=UTC)
    assert first.title is not None and first.title.startswith("امریکی عسکری امداد")
    assert (
        first.media[0].url == "http://c.files.bbci.co.uk/A787/production/_99478824_gettyimages-856735580.jpg"
    )
    assert snapshot.url == "http://www.bbcurdu.com"
    assert (snapshot.complete, snapshot.ended, snapshot.warnings) == (False, False, ())


def test_github_atom(fixture_bytes: Fixture) -> None:
    snapshot = syndication.parse(fixture_bytes("atom_github_commits.xml"), BASE)

    assert len(snapshot.updates) == 20
    first = snapshot.updates[0]
    assert first.upstream_id == "tag:github.com,2008:Grit::Commit/6d97f8b4582414b6ce69467656824690057d4793"
    assert first.published_at == first.updated_at == datetime(2024, 3, 12, 5, 30, 27, tzinfo=UTC)
    assert first.title == "Parse podcast categories"
    assert first.authors == ("fguillot",)
    assert first.body_html == "<pre style='white-space:pre-wrap;width:81ex'>Parse podcast categories</pre>"
    assert first.summary is None  # feedparser copies the content into the summary; not repeated
    assert snapshot.title == "Recent Commits to v2:main"


def test_atom_entries_sharing_a_time_keep_document_order(fixture_bytes: Fixture) -> None:
    robots, self_link = syndication.parse(fixture_bytes("atom_rfc4287_example.xml"), BASE).updates

    assert robots.published_at == self_link.published_at == datetime(2003, 12, 13, 18, 30, 2, tzinfo=UTC)
    assert (robots.position, self_link.position) == (1, 0)  # feeds list the newest first
    assert robots.upstream_id == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    assert robots.url == "http://example.org/2003/12/13/atom03"
    assert self_link.url is None  # its only link is rel="self", and its id is no URL
    assert robots.body_html == "<p>Some text.</p>"  # Atom text content is escaped into HTML


def test_json_feed_1_1(fixture_bytes: Fixture) -> None:
    snapshot = syndication.parse(fixture_bytes("jsonfeed_1.1_spec_simple_example.json"), BASE)

    second, first = snapshot.updates
    assert (second.upstream_id, first.upstream_id) == ("2", "1")
    assert second.published_at is None and second.title is None
    assert second.body_html == "<p>This is a second item.</p>"
    assert first.body_html == "<p>Hello, world!</p>"
    assert snapshot.url == "https://example.org/"


def test_json_feed_1_0_with_unknown_key(fixture_bytes: Fixture) -> None:
    snapshot = syndication.parse(fixture_bytes("jsonfeed_feedparser_example_with_test_key.json"), BASE)

    post2, post1 = snapshot.updates
    assert post2.title == "post 2"
    assert post2.tags == ("test", "JSON")
    assert post2.authors == ("me",)  # the feed's author
    assert [(m.url, m.kind) for m in post2.media] == [
        ("https://example.org/second-item-show.mp4", "video/mp4")
    ]
    assert post1.authors == ("you",)
    assert "<script>" in post1.body_html  # upstream HTML as-is: timeline.normalize sanitizes


# --- ill-formed feeds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_feed_gives_a_snapshot_or_a_parse_error(fixture_bytes: Fixture, name: str) -> None:
    try:
        snapshot = syndication.parse(fixture_bytes(name), BASE)
    except ParseError:
        return
    assert any("not well-formed" in w for w in snapshot.warnings)


def test_corrupted_ampersands_link_is_decoded(fixture_bytes: Fixture) -> None:
    snapshot = syndication.parse(fixture_bytes("malformed_rss_item_link_corrupted_ampersands.xml"), BASE)

    assert [u.upstream_id for u in snapshot.updates] == ["http://link/get?a=1&b=2"]


def test_double_encoded_entity_is_read(fixture_bytes: Fixture) -> None:
    (update,) = syndication.parse(fixture_bytes("malformed_rss_double_encoded_html.xml"), BASE).updates

    assert update.body_html == "\u2026"
    assert update.upstream_id.startswith("sha256:")  # no guid, link, title or date


def test_incomplete_cdata_keeps_the_channel(fixture_bytes: Fixture) -> None:
    snapshot = syndication.parse(fixture_bytes("malformed_rss_incomplete_cdata.xml"), BASE)

    assert snapshot.title == "can feedparser read this xml"
    assert snapshot.updates == ()
    assert any("skipped" in w for w in snapshot.warnings)


# --- choices ----------------------------------------------------------------------------------------------


def test_ids_are_trimmed_guids_then_links_then_hashes() -> None:
    body = rss(
        "<item><guid>\n  urn:a  \n</guid><link>https://x.example/a</link></item>",
        "<item><link>/posts/b</link><title>B</title></item>",
        "<item><title>C</title><pubDate>Tue, 14 Nov 2023 22:13:20 GMT</pubDate></item>",
    )

    a, b, c = syndication.parse(body, BASE).updates

    assert a.upstream_id == "urn:a"
    assert b.upstream_id == b.url == "https://feeds.example/posts/b"
    assert c.upstream_id.startswith("sha256:")
    assert c.upstream_id == syndication.parse(body, BASE).updates[2].upstream_id


def test_content_is_neither_sanitized_nor_rewritten() -> None:
    html = '<a href="/rel">x</a><script>s()</script>'
    item = f"<item><guid>g</guid><description><![CDATA[{html}]]></description></item>"

    (update,) = syndication.parse(rss(item), BASE).updates

    assert update.body_html == html


def test_content_encoded_is_the_body_and_description_the_summary() -> None:
    item = (
        '<item xmlns:content="http://purl.org/rss/1.0/modules/content/"><guid>g</guid>'
        "<description>Short</description><content:encoded><![CDATA[<p>Long</p>]]></content:encoded></item>"
    )

    (update,) = syndication.parse(rss(item), BASE).updates

    assert (update.body_html, update.summary) == ("<p>Long</p>", "Short")


def test_date_without_zone_uses_default_zone_with_a_warning() -> None:
    from zoneinfo import ZoneInfo

    body = rss("<item><guid>g</guid><pubDate>Tue, 14 Nov 2023 12:00:00</pubDate></item>")

    snapshot = syndication.parse(body, BASE, default_tz=ZoneInfo("America/New_York"))

    assert snapshot.updates[0].published_at == datetime(2023, 11, 14, 17, tzinfo=UTC)
    assert any("America/New_York" in w for w in snapshot.warnings)


def test_rdf_rss_1_0() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://x.example/"><title>R</title><link>https://x.example/</link></channel>
  <item rdf:about="https://x.example/1"><title>One</title><link>https://x.example/1</link>
    <dc:date>2024-05-01T10:00:00+02:00</dc:date><dc:creator>Ann</dc:creator></item>
</rdf:RDF>"""

    (update,) = syndication.parse(body, BASE).updates

    assert update.upstream_id == "https://x.example/1"
    assert update.published_at == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert update.authors == ("Ann",)


def test_json_feed_fields_and_expiry() -> None:
    item = {
        "id": 42,
        "url": "/p/42",
        "title": "T",
        "content_text": "a < b",
        "date_published": "2024-05-01T10:00:00Z",
        "date_modified": "2024-05-01T11:00:00Z",
        "authors": [{"name": "Ann"}],
        "image": "https://img.example/a.png",
    }

    snapshot = syndication.parse(json_feed(item, expired=True), BASE)

    (update,) = snapshot.updates
    assert (update.upstream_id, update.url) == ("42", "https://feeds.example/p/42")
    assert update.body_html == "<p>a &lt; b</p>"
    assert update.updated_at == datetime(2024, 5, 1, 11, tzinfo=UTC)
    assert update.authors == ("Ann",)
    assert [m.url for m in update.media] == ["https://img.example/a.png"]
    assert snapshot.ended is True


def test_json_without_json_feed_version_is_invalid() -> None:
    with pytest.raises(InvalidDocumentError, match=r"jsonfeed\.org"):
        syndication.parse(b'{"items": []}', BASE)


def test_not_a_feed_is_invalid() -> None:
    with pytest.raises(InvalidDocumentError, match="RSS, Atom"):
        syndication.parse(b"<html><body>no feed</body></html>", BASE)


@pytest.mark.parametrize("body", [b"/etc/passwd", b"http://127.0.0.1:9/feed.xml", b"file:///etc/passwd"])
def test_body_is_never_opened_or_fetched(body: bytes) -> None:
    # feedparser.parse(bytes) would open a path or fetch a URL; the adapter hands it a stream.
    with pytest.raises(InvalidDocumentError):
        syndication.parse(body, BASE)


def test_snapshot_is_never_complete() -> None:
    snapshot: ParsedSnapshot = syndication.parse(rss("<item><guid>g</guid></item>"), BASE)

    assert snapshot.complete is False
