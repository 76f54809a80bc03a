"""atom_feed(): a valid Atom 1.0 document that feedparser and ElementTree read back intact."""

from __future__ import annotations

import calendar
import io
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import feedparser
import pytest

from tests.timeline.render.samples import (
    CONTROLS,
    EMPTY,
    EVENTS,
    FALLBACK_UPDATED,
    KEY,
    NEWEST_FIRST,
    TITLE,
    UNTITLED,
    event,
    timeline,
)
from timeline.models import Event, rfc3339
from timeline.render import atom_feed
from timeline.render.atom import ATOM_NS, KEY_EVENT_SCHEME, KEY_EVENT_TERM, entry_id, feed_id

SELF_URL = "https://timeline.example/api/v1/timelines/tl_test/feed.atom?a=1&b=2"
HTML_URL = "https://timeline.example/embed/tl_test"
A = f"{{{ATOM_NS}}}"


def _render(events: tuple[Event, ...] = EVENTS, html_url: str | None = HTML_URL) -> bytes:
    return atom_feed(timeline(), events, self_url=SELF_URL, html_url=html_url, updated=FALLBACK_UPDATED)


def _parse(document: bytes) -> Any:
    # Our HTML is already sanitized: compare it as written, not as feedparser's own sanitizer rewrites it.
    parsed = feedparser.parse(io.BytesIO(document), sanitize_html=False, resolve_relative_uris=False)
    assert parsed.get("bozo") == 0, parsed.get("bozo_exception")
    return parsed


def _entries(document: bytes) -> dict[str, Any]:
    return {entry.get("id"): entry for entry in _parse(document).get("entries")}


def _timestamp(parsed_time: Any) -> int:
    return calendar.timegm(parsed_time)


def test_feed_round_trips_through_feedparser() -> None:
    feed = _parse(_render()).get("feed")
    assert feed.get("id") == feed_id("tl_test")
    assert feed.get("title") == "Cup final <live> & more"
    assert feed.get("author") == "Cup final <live> & more"
    assert feed.get("generator") == "liveblog-timeline"
    assert {(link.get("rel"), link.get("href")) for link in feed.get("links")} == {
        ("self", SELF_URL),
        ("alternate", HTML_URL),
    }


def test_entries_are_newest_first_without_tombstones() -> None:
    document = _render()
    assert [entry.get("id") for entry in _parse(document).get("entries")] == [
        entry_id(e.id) for e in NEWEST_FIRST
    ]
    assert b"SECRET" not in document
    assert b"ev_gone" not in document


def test_titles_escape_hostile_text_and_fall_back_to_an_excerpt_or_the_time() -> None:
    entries = _entries(_render())
    assert entries[entry_id(KEY.id)].get("title") == TITLE
    untitled = entries[entry_id(UNTITLED.id)].get("title")
    assert untitled.startswith("שלום עולם, مرحبا بالعالم! 👋🏽")
    assert untitled.endswith("…")
    assert len(untitled) <= 80
    assert entries[entry_id(EMPTY.id)].get("title") == rfc3339(EMPTY.published_at)


def test_content_summary_and_link_round_trip() -> None:
    entry = _entries(_render())[entry_id(KEY.id)]
    [content] = entry.get("content")
    assert (content.get("type"), content.get("value")) == ("text/html", KEY.body_html)
    assert entry.get("summary") == KEY.summary
    assert ("alternate", KEY.url) in {(link.get("rel"), link.get("href")) for link in entry.get("links")}


def test_dates_round_trip_in_utc() -> None:
    entries = _entries(_render())
    key, empty = entries[entry_id(KEY.id)], entries[entry_id(EMPTY.id)]
    assert key.get("published") == rfc3339(KEY.published_at)
    assert _timestamp(key.get("updated_parsed")) == int(KEY.updated_at.timestamp())  # type: ignore[union-attr]
    assert empty.get("published") == "2024-05-01T11:30:05.123456Z"
    assert empty.get("updated") == empty.get("published")


def test_feed_updated_is_the_newest_entry_or_the_fallback() -> None:
    newest = KEY.updated_at
    assert _parse(_render()).get("feed").get("updated") == rfc3339(newest)  # type: ignore[arg-type]
    later = event("ev_later", published_at=KEY.published_at + timedelta(hours=1))
    assert _parse(_render((KEY, later))).get("feed").get("updated") == rfc3339(later.published_at)
    assert _parse(_render(())).get("feed").get("updated") == rfc3339(FALLBACK_UPDATED)


def test_key_events_tags_and_authors_become_categories_and_authors() -> None:
    entries = _entries(_render())
    key = entries[entry_id(KEY.id)]
    assert [(tag.get("term"), tag.get("scheme")) for tag in key.get("tags")] == [
        (KEY_EVENT_TERM, KEY_EVENT_SCHEME),
        ("football", None),
        ("Cup & final", None),
    ]
    assert [author.get("name") for author in key.get("authors")] == list(KEY.authors)
    assert [tag.get("term") for tag in entries[entry_id(UNTITLED.id)].get("tags")] == ["crowd"]


def test_media_become_enclosures_typed_only_by_mime_types() -> None:
    document = _render()
    entries = _entries(document)
    [image] = entries[entry_id(KEY.id)].get("enclosures")
    assert image.get("href") == "https://img.example/goal.jpg"
    [video] = entries[entry_id(EMPTY.id)].get("enclosures")
    assert (video.get("href"), video.get("type")) == ("https://img.example/a.mp4", "video/mp4")
    # feedparser reports a missing type as text/html, so read the attributes themselves.
    links = ET.fromstring(document).iter(A + "link")
    [image_link] = [link.attrib for link in links if link.get("href") == "https://img.example/goal.jpg"]
    assert image_link == {"rel": "enclosure", "href": "https://img.example/goal.jpg"}


def test_characters_illegal_in_xml_are_removed() -> None:
    document = _render()
    for char in CONTROLS.replace("\x7f", ""):  # DEL is legal, if discouraged, in XML 1.0
        assert char.encode() not in document
    [content] = _entries(document)[entry_id(UNTITLED.id)].get("content")
    assert content.get("value") == UNTITLED.body_html.replace(CONTROLS, "\x7f")


def test_lone_surrogates_are_removed_too() -> None:
    # The store cannot hold them (normalize scrubs them), but XML could not carry them either.
    document = _render((event("ev_s", title="a\ud800b", body_html="<p>c\udfffd</p>"),))
    [entry] = _parse(document).get("entries")
    assert (entry.get("title"), entry.get("content")[0].get("value")) == ("ab", "<p>cd</p>")


def test_cdata_terminator_and_markup_never_appear_unescaped() -> None:
    document = _render()
    assert b"]]>" not in document
    assert b"<p>" not in document
    assert b"<a " not in document
    assert document.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    document.decode("utf-8")


def test_alternate_link_is_optional() -> None:
    links = _parse(_render(html_url=None)).get("feed").get("links")
    assert [link.get("rel") for link in links] == ["self"]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return element.findall(A + name)


@pytest.mark.parametrize("events", [EVENTS, ()], ids=["events", "empty"])
def test_required_elements_of_rfc_4287_are_present_once(events: tuple[Event, ...]) -> None:
    root = ET.fromstring(_render(events))
    assert root.tag == A + "feed"
    for name in ("id", "title", "updated"):
        assert len(_children(root, name)) == 1, name
    assert [author.findtext(A + "name") for author in _children(root, "author")] == [timeline().title]
    assert [link.get("href") for link in _children(root, "link") if link.get("rel") == "self"] == [SELF_URL]
    for entry in _children(root, "entry"):
        for name in ("id", "title", "updated", "published", "content"):
            assert len(_children(entry, name)) == 1, name
        assert all(entry.findtext(A + name) for name in ("id", "title", "updated")), "empty required element"
    assert len(_children(root, "entry")) == len([e for e in events if not e.deleted])


def test_titles_and_contents_are_text_constructs_as_declared() -> None:
    root = ET.fromstring(_render())
    entry = next(e for e in _children(root, "entry") if e.findtext(A + "id") == entry_id(KEY.id))
    assert entry.findtext(A + "title") == TITLE
    content = entry.find(A + "content")
    assert content is not None
    assert (content.get("type"), content.text) == ("html", KEY.body_html)
    assert entry.find(A + "title").get("type") is None  # type: ignore[union-attr]
