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
    """When the timeline's coverage began and, once known, ends.

    What the sources declare wins (JSON-LD `coverageStartTime` / `coverageEndTime`, kept with each
    source's poll state): the earliest declared start, and the latest declared end when every source
    declares one. Otherwise it is derived from the stored events: the first update, and the last one once
    the timeline has ended.
    """

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def of(
        cls,
        declared: list[tuple[datetime | None, datetime | None]],
        *,
        first: datetime | None,
        last: datetime | None,
    ) -> Coverage:
        """From each source's declared (start, end) and the derived `first` and `last` (None until ended)."""
        starts = [start for start, _ in declared if start is not None]
        ends = [end for _, end in declared if end is not None]
        every_end = bool(declared) and len(ends) == len(declared)
        return cls(start=min(starts, default=first), end=max(ends) if every_end else last)


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
