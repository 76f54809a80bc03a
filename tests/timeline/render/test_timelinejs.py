"""timelinejs(): the Knight Lab TimelineJS3 JSON format, dates in UTC."""

from __future__ import annotations

import html
from datetime import UTC
from typing import Any

import orjson

from tests.timeline.render.samples import EMPTY, EVENTS, KEY, NEWEST_FIRST, TITLE, UNTITLED, timeline
from timeline.models import Event
from timeline.render import timelinejs
from timeline.render.timelinejs import KEY_EVENTS_GROUP, UPDATES_GROUP


def _render(events: tuple[Event, ...] = EVENTS) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(timelinejs(timeline(), events))
    return parsed


def _slides() -> dict[str, dict[str, Any]]:
    return {slide["unique_id"]: slide for slide in _render()["events"]}


def test_title_slide_has_an_escaped_headline_and_no_date() -> None:
    title = _render()["title"]
    assert title == {"text": {"headline": "Cup final &lt;live&gt; &amp; more", "text": ""}}


def test_slides_are_oldest_first_without_tombstones() -> None:
    slides = _render()["events"]
    assert [slide["unique_id"] for slide in slides] == [event.id for event in reversed(NEWEST_FIRST)]
    for slide in slides:
        assert isinstance(slide["start_date"]["year"], int)
        assert set(slide["text"]) == {"headline", "text"}


def test_start_dates_are_utc_parts_matching_the_event_time() -> None:
    for event_id, slide in _slides().items():
        published = next(e for e in EVENTS if e.id == event_id).published_at.astimezone(UTC)
        date = slide["start_date"]
        parts = (date["year"], date["month"], date["day"], date["hour"], date["minute"], date["second"])
        assert parts == published.timetuple()[:6]
        assert date["display_date"] == published.strftime("%Y-%m-%d %H:%M UTC")


def test_milliseconds_appear_only_when_there_are_some() -> None:
    slides = _slides()
    assert slides[EMPTY.id]["start_date"] == {
        "year": 2024,
        "month": 5,
        "day": 1,
        "hour": 11,
        "minute": 30,
        "second": 5,
        "millisecond": 123,
        "display_date": "2024-05-01 11:30 UTC",
    }
    assert "millisecond" not in slides[KEY.id]["start_date"]


def test_headlines_are_escaped_text_and_bodies_stay_sanitized_html() -> None:
    slides = _slides()
    key = slides[KEY.id]["text"]
    assert "<" not in key["headline"]
    assert html.unescape(key["headline"]) == TITLE
    assert key["text"] == KEY.body_html
    assert html.unescape(slides[UNTITLED.id]["text"]["headline"]).endswith("…")


def test_key_events_get_their_own_group() -> None:
    groups = {event_id: slide["group"] for event_id, slide in _slides().items()}
    assert groups == {KEY.id: KEY_EVENTS_GROUP, UNTITLED.id: UPDATES_GROUP, EMPTY.id: UPDATES_GROUP}


def test_no_groups_without_key_events() -> None:
    assert all("group" not in slide for slide in _render((UNTITLED, EMPTY))["events"])


def test_first_media_item_becomes_the_slide_media() -> None:
    slides = _slides()
    assert slides[KEY.id]["media"] == {
        "url": "https://img.example/goal.jpg",
        "caption": "The &lt;goal&gt; &amp; celebration",
    }
    assert slides[EMPTY.id]["media"] == {"url": "https://img.example/a.mp4"}
    assert "media" not in slides[UNTITLED.id]
