"""json_feed(): a JSON Feed 1.1 document with the spec's required fields and our extension."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson
import pytest

from tests.timeline.render.samples import CONTROLS, EMPTY, EVENTS, KEY, NEWEST_FIRST, UNTITLED, timeline
from timeline.models import Event
from timeline.render import json_feed
from timeline.render.jsonfeed import EXTENSION, VERSION

FEED_URL = "https://timeline.example/api/v1/timelines/tl_test/feed.json"
HOME_URL = "https://timeline.example/embed/tl_test"
RFC_3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _render(events: tuple[Event, ...] = EVENTS, **timeline_fields: Any) -> dict[str, Any]:
    document = json_feed(timeline(**timeline_fields), events, feed_url=FEED_URL, home_page_url=HOME_URL)
    parsed: dict[str, Any] = orjson.loads(document)
    return parsed


def _items() -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in _render()["items"]}


def test_top_level_fields_follow_the_spec() -> None:
    feed = _render()
    assert feed["version"] == VERSION == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Cup final <live> & more"
    assert (feed["feed_url"], feed["home_page_url"]) == (FEED_URL, HOME_URL)
    assert "expired" not in feed
    assert isinstance(feed["items"], list)


def test_items_are_newest_first_with_string_ids_and_content() -> None:
    items = _render()["items"]
    assert [item["id"] for item in items] == [event.id for event in NEWEST_FIRST]
    for item in items:
        assert isinstance(item["id"], str)
        assert isinstance(item.get("content_html", item.get("content_text")), str)


def test_tombstones_are_left_out() -> None:
    assert "ev_gone" not in _items()
    assert b"SECRET" not in json_feed(timeline(), EVENTS, feed_url=FEED_URL, home_page_url=None)


def test_dates_are_rfc_3339_utc_and_round_trip() -> None:
    items = _items()
    for event in NEWEST_FIRST:
        published = items[event.id]["date_published"]
        assert RFC_3339.match(published), published
        assert datetime.fromisoformat(published) == event.published_at
    assert items[KEY.id]["date_modified"] == "2024-05-01T12:15:00Z"
    assert items[EMPTY.id]["date_published"] == "2024-05-01T11:30:05.123456Z"
    assert "date_modified" not in items[EMPTY.id]


def test_a_full_item_keeps_every_field() -> None:
    item = _items()[KEY.id]
    assert item == {
        "id": KEY.id,
        "url": KEY.url,
        "title": KEY.title,
        "summary": KEY.summary,
        "content_html": KEY.body_html,
        "content_text": KEY.body_text,
        "image": "https://img.example/goal.jpg",
        "date_published": "2024-05-01T12:10:00Z",
        "date_modified": "2024-05-01T12:15:00Z",
        "authors": [{"name": "Ana <ana@example.com>"}, {"name": "محمد"}],
        "tags": ["football", "Cup & final"],
        EXTENSION: {"key_event": True, "pinned": True, "revision": 3, "seq": 42},
    }


def test_missing_values_are_left_out_not_null() -> None:
    item = _items()[EMPTY.id]
    assert set(item) == {"id", "content_html", "date_published", EXTENSION}
    assert item[EXTENSION] == {"key_event": False, "pinned": False, "revision": 1, "seq": 41}
    assert None not in item.values()


def test_hostile_text_round_trips_exactly() -> None:
    item = _items()[UNTITLED.id]
    assert "title" not in item
    assert (item["content_html"], item["content_text"]) == (UNTITLED.body_html, UNTITLED.body_text)
    assert item["content_text"].endswith(CONTROLS)


def test_extension_key_starts_with_an_underscore() -> None:
    assert EXTENSION.startswith("_")


@pytest.mark.parametrize(("status", "expired"), [("live", None), ("ended", True)])
def test_an_ended_timeline_is_an_expired_feed(status: str, expired: bool | None) -> None:
    assert _render(status=status).get("expired") == expired


def test_home_page_url_is_optional() -> None:
    document = json_feed(timeline(), (), feed_url=FEED_URL, home_page_url=None)
    assert orjson.loads(document) == {
        "version": VERSION,
        "title": timeline().title,
        "feed_url": FEED_URL,
        "items": [],
    }
