"""Hostile-ish timelines and events shared by the renderer tests, written for these tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from timeline.models import Event, Media, Timeline

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FALLBACK_UPDATED = datetime(2024, 4, 30, 9, 0, tzinfo=UTC)
CONTROLS = "\x01\x08\x0b\x1f\x7f\ufffe"
TITLE = 'Goal! <Home> & "Away" ]]> ⚽'
BODY_HTML = (
    '<p>1 &lt; 2 &amp;&amp; 3 &gt; 2 ]]&gt; 🎉 <a href="https://news.example/a?b=1&amp;c=2" '
    'rel="nofollow noopener">read</a></p>'
)
RTL_TEXT = "שלום עולם, مرحبا بالعالم! 👋🏽 — the crowd sings " * 3


def timeline(**fields: Any) -> Timeline:
    fields = {"id": "tl_test", "slug": "cup-final", "title": "Cup final <live> & more", **fields}
    return Timeline(created_at=T0 - timedelta(days=1), **fields)


def event(event_id: str, **fields: Any) -> Event:
    defaults = {"timeline_id": "tl_test", "source_id": "src_1", "upstream_id": event_id, "published_at": T0}
    return Event(id=event_id, **(defaults | {"revision": 1, "seq": 1} | fields))


KEY = event(
    "ev_key",
    published_at=T0 + timedelta(minutes=10),
    updated_at=T0 + timedelta(minutes=15),
    url="https://blog.example/live#block-key",
    title=TITLE,
    summary="Score: 1–0 & <rising>",
    body_html=BODY_HTML,
    body_text="1 < 2 && 3 > 2 ]]> 🎉 read",
    key_event=True,
    pinned=True,
    authors=("Ana <ana@example.com>", "محمد"),
    tags=("football", "Cup & final"),
    media=(Media(url="https://img.example/goal.jpg", kind="image", caption="The <goal> & celebration"),),
    revision=3,
    seq=42,
)
UNTITLED = event(
    "ev_untitled",
    published_at=T0 + timedelta(minutes=5),
    body_html=f'<p dir="rtl">{RTL_TEXT}{CONTROLS}</p>',
    body_text=RTL_TEXT + CONTROLS,
    tags=("crowd",),
    seq=40,
)
TOMBSTONE = event(
    "ev_gone", published_at=T0 + timedelta(minutes=20), title="SECRET deleted", deleted=True, seq=43
)
EMPTY = event(
    "ev_empty",
    published_at=datetime(2024, 5, 1, 13, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2))),
    media=(Media(url="https://img.example/a.mp4", kind="video/mp4"),),
    seq=41,
)
EVENTS = (UNTITLED, TOMBSTONE, EMPTY, KEY)
NEWEST_FIRST = (KEY, UNTITLED, EMPTY)
