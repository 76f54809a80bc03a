"""Re-syndication details the readers of each format rely on: a TimelineJS document TimelineJS takes,
empty timeline included (checked against its format, `timelinejs_format`), and Atom enclosures that say
their length when the source declared it (RFC 4287 §4.2.7.6)."""

from __future__ import annotations

import html
from xml.etree import ElementTree

import orjson
import pytest

from tests.timeline.render.samples import EVENTS, FALLBACK_UPDATED, TOMBSTONE, event, timeline
from tests.timeline.render.timelinejs_format import problems
from timeline.models import Event, Media
from timeline.render import atom_feed, timelinejs
from timeline.render.timelinejs import PLACEHOLDER_ID

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.mark.parametrize("events", [EVENTS, (), (TOMBSTONE,)], ids=["events", "none", "only-deleted"])
def test_timelinejs_documents_are_ones_timelinejs_takes(events: tuple[Event, ...]) -> None:
    document = orjson.loads(timelinejs(timeline(), events))
    assert problems(document) == []


def test_an_empty_timeline_gets_one_placeholder_slide_at_its_creation() -> None:
    created = timeline()
    document = orjson.loads(timelinejs(created, ()))
    [slide] = document["events"]
    assert (
        slide["unique_id"] == PLACEHOLDER_ID and html.unescape(slide["text"]["headline"]) == "No updates yet"
    )
    start = slide["start_date"]
    assert (start["year"], start["month"], start["day"], start["hour"]) == created.created_at.timetuple()[:4]
    assert document["title"]["text"]["headline"] == html.escape(created.title)


def test_the_checker_refuses_what_timelinejs_refuses() -> None:
    assert problems({"title": {"text": {"headline": "x"}}, "events": []})
    assert problems({"events": [{"text": {"headline": "x"}}]})  # no start_date
    assert problems({"events": [{"start_date": {"month": 1}}]})  # no year


def _enclosures(media: tuple[Media, ...]) -> list[dict[str, str]]:
    feed = atom_feed(
        timeline(), (event("ev_m", media=media),), self_url="https://t.example/f", html_url=None,
        updated=FALLBACK_UPDATED,
    )  # fmt: skip
    root = ElementTree.fromstring(feed)
    return [dict(link.attrib) for link in root.iter(f"{ATOM}link") if link.get("rel") == "enclosure"]


def test_an_enclosure_says_its_length_when_the_source_declared_one() -> None:
    media = (
        Media(url="https://m.example/a.mp3", kind="audio/mpeg", size=12_345_678),
        Media(url="https://m.example/b.jpg", kind="image"),
    )
    assert _enclosures(media) == [
        {"rel": "enclosure", "href": "https://m.example/a.mp3", "type": "audio/mpeg", "length": "12345678"},
        {"rel": "enclosure", "href": "https://m.example/b.jpg"},  # unknown: left out, not guessed
    ]
