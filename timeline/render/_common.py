"""What every renderer shares: which events are shown, in which order, under which headline."""

from __future__ import annotations

import html
from collections.abc import Iterable

from timeline.ids import SortKey
from timeline.models import Event, Tombstone, rfc3339

HEADLINE_LENGTH = 80


def shown(events: Iterable[Event | Tombstone], *, newest_first: bool) -> list[Event]:
    """The published events, in the timeline's total order: never a tombstone, nor a whole event that is
    deleted or hidden (as keyed reads give them)."""
    live = (event for event in events if isinstance(event, Event) and not (event.deleted or event.hidden))
    return sorted(live, key=_sort_key, reverse=newest_first)


def _sort_key(event: Event) -> SortKey:
    return SortKey(event.published_at, event.position, event.id)


def headline(event: Event) -> str:
    """The title, else the start of the text, else the time: Atom and TimelineJS want one on every entry."""
    if event.title:
        return event.title
    return excerpt(event.body_text or event.summary or "") or rfc3339(event.published_at)


def excerpt(text: str, limit: int = HEADLINE_LENGTH) -> str:
    """`text` on one line, cut to `limit` characters at a word boundary when it can be, with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    head, _, _ = cut.rpartition(" ")
    return (head if len(head) > limit // 2 else cut) + "…"


NOTE_LABEL = "Editor's note:"


def with_note_html(event: Event) -> str:
    """The body, after the editors' note when there is one: a paragraph of its own, escaped (a note is
    plain text), so that every feed reader shows it where the update's content is."""
    if not event.note:
        return event.body_html
    return f"<p><strong>{NOTE_LABEL}</strong> {html.escape(event.note)}</p>{event.body_html}"


def with_note_text(event: Event) -> str:
    """`with_note_html` as plain text."""
    if not event.note:
        return event.body_text
    return f"{NOTE_LABEL} {event.note}\n\n{event.body_text}".rstrip()
