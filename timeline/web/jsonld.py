"""schema.org `LiveBlogPosting` of a timeline, for search engines reading the embed page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from timeline.models import Event, Timeline, rfc3339
from timeline.render._common import headline


@dataclass(frozen=True, slots=True)
class Coverage:
    """First update of the whole timeline, and its last once the timeline has ended.

    Derived from the stored events, even when a JSON-LD source declares its own `coverageStartTime` and
    `coverageEndTime`: the store keeps nothing of a fetched document but its updates (and, on the source,
    whether it ended). Carrying the declared times here takes a place for them on each source, written by
    every poll: `ParsedSnapshot` → the parse pool's `Parsed` → the poll's state (`PollState`, two columns
    on `sources` and their migration) → `Source` → the embed page, which would use them for a timeline of
    one JSON-LD source. Each step is small; they belong to the parse pool, the poller and the store.
    """

    start: datetime | None = None
    end: datetime | None = None


def live_blog_posting(
    timeline: Timeline, events: list[Event], *, url: str, coverage: Coverage
) -> dict[str, Any]:
    """The document for `events` as shown, pinned first then newest first."""
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "headline": timeline.title,
        "url": url,
    }
    if coverage.start is not None:
        document["coverageStartTime"] = rfc3339(coverage.start)
    if coverage.end is not None:
        document["coverageEndTime"] = rfc3339(coverage.end)
    document["liveBlogUpdate"] = [_update(event) for event in events]
    return document


def _update(event: Event) -> dict[str, Any]:
    update: dict[str, Any] = {
        "@type": "BlogPosting",
        "headline": headline(event),
        "datePublished": rfc3339(event.published_at),
        "dateModified": rfc3339(event.updated_at or event.published_at),
        "articleBody": event.body_text,
    }
    if event.url:
        update["url"] = event.url
    if event.authors:
        update["author"] = [{"@type": "Person", "name": name} for name in event.authors]
    return update


def script_json(document: dict[str, Any]) -> str:
    """JSON safe inside `<script>`: `<`, `>` and `&` only occur in strings, where `\\uXXXX` means the same."""
    text = orjson.dumps(document).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
