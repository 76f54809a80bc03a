"""Knight Lab TimelineJS3 export (https://timeline.knightlab.com/docs/json-format.html).

- Slides are in chronological order; `unique_id` is the event id, so `#event-<id>` bookmarks stay stable.
- Headlines are escaped: TimelineJS reads `headline` as HTML, while our titles are plain text. The slide
  text is the already sanitized `body_html`.
- TimelineJS builds a browser-local `Date` from the date parts, so a UTC 12:00 would be placed at 12:00
  local time. The parts are UTC, and `display_date` says "UTC" so the shown time is never ambiguous.
- Key events go in their own labelled row (`group`), the other updates in another; when a timeline has
  no key event there are no groups at all, which keeps a single unlabelled row.
- The first media item of an update becomes the slide's media.

- TimelineJS refuses a document without events ("Timeline configuration has no events"), and the title
  slide is not one. A timeline with nothing to show gets one placeholder slide, dated when the timeline
  was created, whose `unique_id` is `PLACEHOLDER_ID`: it renders, and says why it is empty.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from timeline.models import Event, Media, Timeline, Tombstone
from timeline.render._common import headline, shown, with_note_html

__all__ = ["KEY_EVENTS_GROUP", "PLACEHOLDER_ID", "UPDATES_GROUP", "timelinejs"]

KEY_EVENTS_GROUP = "Key events"
UPDATES_GROUP = "Updates"
PLACEHOLDER_ID = "no-updates-yet"  # never an event id (`ev_…`)


def timelinejs(timeline: Timeline, events: Sequence[Event | Tombstone]) -> bytes:
    """The TimelineJS3 JSON document of `events`, oldest first, tombstones left out."""
    slides = shown(events, newest_first=False)
    grouped = any(event.key_event for event in slides)
    document = {
        "title": {"text": {"headline": html.escape(timeline.title), "text": ""}},
        "events": [_slide(event, grouped=grouped) for event in slides] or [_placeholder(timeline)],
    }
    return orjson.dumps(document)


def _placeholder(timeline: Timeline) -> dict[str, Any]:
    return {
        "start_date": _date(timeline.created_at),
        "text": {"headline": "No updates yet", "text": "<p>Updates appear here as they are published.</p>"},
        "unique_id": PLACEHOLDER_ID,
    }


def _slide(event: Event, *, grouped: bool) -> dict[str, Any]:
    slide: dict[str, Any] = {
        "start_date": _date(event.published_at),
        "text": {"headline": html.escape(headline(event)), "text": with_note_html(event)},
        "unique_id": event.id,
    }
    if grouped:
        slide["group"] = KEY_EVENTS_GROUP if event.key_event else UPDATES_GROUP
    if event.media:
        slide["media"] = _media(event.media[0])
    return slide


def _date(moment: datetime) -> dict[str, Any]:
    """A TimelineJS date object in UTC; `millisecond` only when there is one."""
    utc = moment.astimezone(UTC)
    parts: dict[str, Any] = {
        "year": utc.year,
        "month": utc.month,
        "day": utc.day,
        "hour": utc.hour,
        "minute": utc.minute,
        "second": utc.second,
    }
    if utc.microsecond >= 1000:
        parts["millisecond"] = utc.microsecond // 1000
    parts["display_date"] = utc.strftime("%Y-%m-%d %H:%M UTC")
    return parts


def _media(media: Media) -> dict[str, str]:
    # TimelineJS reads `caption` as HTML; ours is plain text.
    return {"url": media.url} | ({"caption": html.escape(media.caption)} if media.caption else {})
