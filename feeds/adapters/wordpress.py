"""WordPress liveblog plugin JSON (`{"entries": [...]}` or a bare list of entries) → ParsedSnapshot.

Polling, paged and key-event responses all hold only some entries, so the snapshot is never `complete`;
an entry of `type: "delete"` is the only deletion. Same-time entries are ordered by their numeric ids.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from feeds.adapters._common import (
    Clock,
    Raw,
    Warnings,
    absolute_url,
    as_list,
    build_updates,
    get,
    ident,
    json_refusal,
    load_json,
    text,
    unique,
)
from feeds.types import DEFAULT_LIMITS, Limits, ParsedSnapshot, ParsedUpdate

NAME = "wordpress"
_EXPECTED = "WordPress liveblog JSON (an object with entries[] or a list of entries)"
_TRUE = (True, 1, "1", "true")
_MAX_DIGITS = 18


def parse(
    body: bytes, base_url: str, *, default_tz: tzinfo = UTC, limits: Limits = DEFAULT_LIMITS
) -> ParsedSnapshot:
    """Parse a liveblog polling, paging or key-events response."""
    document = load_json(body, base_url, _EXPECTED, limits)
    return read(document, base_url, default_tz=default_tz, limits=limits)


def read(
    document: object, base_url: str, *, default_tz: tzinfo = UTC, limits: Limits = DEFAULT_LIMITS
) -> ParsedSnapshot:
    """`parse` for a document already read as JSON."""
    entries = _entries(document, base_url)
    warnings = Warnings()
    clock = Clock(default_tz, warnings, epoch=True)
    times = [clock.first(entry, "entry_time", "timestamp") for entry in entries]
    updates = build_updates(
        entries, times, lambda entry, time, rank: _update(entry, time, rank, base_url), limits, warnings
    )
    return ParsedSnapshot(adapter=NAME, updates=unique(updates, warnings), warnings=warnings.as_tuple())


def _entries(document: object, url: str) -> list[Raw]:
    entries = document if isinstance(document, list) else get(document, "entries", list)
    if entries is None:
        raise json_refusal(document, url, _EXPECTED, "no entries[] found")
    return [entry if isinstance(entry, dict) else {} for entry in entries]


def _update(entry: Raw, published: datetime | None, position: int, base_url: str) -> ParsedUpdate:
    entry_id = ident(entry.get("id"))
    if entry_id is None:
        raise ValueError("the entry has no id")
    classes = (text(entry, "css_classes") or "").split()
    return ParsedUpdate(
        upstream_id=entry_id,
        published_at=published,
        summary=text(entry, "key_event_content"),
        body_html=get(entry, "render", str) or get(entry, "content", str) or "",
        url=absolute_url(get(entry, "share_link", str), base_url),
        key_event=entry.get("key_event") in _TRUE or "type-key" in classes,
        deleted=text(entry, "type") == "delete",
        authors=_authors(entry),
        position=_numeric(entry_id, position),
    )


def _numeric(entry_id: str, fallback: int) -> int:
    """The numeric id (the plugin's comment id, which grows with time), if it fits a 63-bit column."""
    if entry_id.isascii() and entry_id.isdigit() and len(entry_id) <= _MAX_DIGITS:
        return int(entry_id)
    return fallback


def _authors(entry: Raw) -> tuple[str, ...]:
    names = (text(author, "name") for author in as_list(get(entry, "authors", list)))
    return tuple(name for name in names if name)
