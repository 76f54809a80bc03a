"""ParsedSnapshot → EventDrafts: sanitized, plain-texted, de-duplicated, hashed and ordered (pure)."""

from __future__ import annotations

import functools
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from feeds.types import Media, ParsedSnapshot, ParsedUpdate
from timeline.ids import event_id
from timeline.models import EventDraft
from timeline.normalize.content_hash import content_hash
from timeline.normalize.raw_hash import raw_hash
from timeline.normalize.sanitize import absolute_http_url, html_to_text, plain_text, sanitize_html

__all__ = ["Normalized", "clean_body", "normalize"]

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A snapshot's updates: the drafts of those not known, and the raw hashes of the known ones (seen
    again unchanged, so not normalized), in the snapshot's order."""

    drafts: list[EventDraft]
    seen: list[str] = field(default_factory=list)


def normalize(
    snapshot: ParsedSnapshot, *, source_id: str, now: datetime, known: Container[str] = frozenset()
) -> Normalized:
    """The snapshot's updates as drafts, oldest first by (published_at, position, id), except those whose
    raw hash is in `known` (the raw hashes of the source's stored events): those are only listed as seen.

    An update without a time gets `now` with `time_estimated=True`; its content hash ignores that time,
    so normalizing it again later gives the same hash. Relative links resolve against the snapshot's URL.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    base_url = absolute_http_url(snapshot.url)
    now = now.astimezone(UTC)
    drafts, seen = [], []
    for update in _unique(snapshot.updates):
        raw = raw_hash(update, base_url)
        if raw in known:
            seen.append(raw)
        else:
            drafts.append(_draft(update, raw, source_id, now, base_url))
    drafts.sort(key=lambda d: (d.published_at, d.position, d.id))
    return Normalized(drafts, seen)


def _unique(updates: Iterable[ParsedUpdate]) -> list[ParsedUpdate]:
    """One update per upstream id, in first-seen order (a pinned post often appears twice)."""
    kept: dict[str, ParsedUpdate] = {}
    for update in updates:
        seen = kept.get(update.upstream_id)
        kept[update.upstream_id] = update if seen is None else _merge(seen, update)
    return list(kept.values())


def _merge(first: ParsedUpdate, second: ParsedUpdate) -> ParsedUpdate:
    """The more recently updated copy (the first on a tie); a flag set on either copy stays set."""
    newer = (second.updated_at or _NEVER) > (first.updated_at or _NEVER)
    winner = second if newer else first
    flags = {"pinned": first.pinned or second.pinned, "key_event": first.key_event or second.key_event}
    return winner.model_copy(update=flags)


def _draft(update: ParsedUpdate, raw: str, source_id: str, now: datetime, base_url: str | None) -> EventDraft:
    published = _utc(update.published_at)
    body_html, body_text = _render_body(update.body_html, base_url)
    url = absolute_http_url(update.url)
    title, summary = plain_text(update.title), plain_text(update.summary)
    authors, tags, media = _names(update.authors), _names(update.tags), _media(update.media)
    digest = content_hash(
        url=url,
        published_at=published,
        title=title,
        summary=summary,
        body_html=body_html,
        key_event=update.key_event,
        pinned=update.pinned,
        authors=authors,
        tags=tags,
        media=media,
        deleted=update.deleted,
    )
    return EventDraft(
        id=event_id(source_id, update.upstream_id),
        source_id=source_id,
        upstream_id=update.upstream_id,
        url=url,
        published_at=published or now,
        time_estimated=published is None,
        updated_at=_utc(update.updated_at),
        title=title,
        summary=summary,
        body_html=body_html,
        body_text=body_text,
        key_event=update.key_event,
        pinned=update.pinned,
        authors=authors,
        tags=tags,
        media=media,
        position=update.position,
        deleted=update.deleted,
        content_hash=digest,
        raw_hash=raw,
    )


def clean_body(html: str) -> tuple[str, str]:
    """An editorial post's body as the store keeps it: sanitized HTML and its text (a post has no base URL
    for relative links to resolve against)."""
    return _render_body(html, None)


def _render_body(html: str, base_url: str | None) -> tuple[str, str]:
    """Sanitized HTML and its text, memoized for bodies of ordinary size.

    Re-polls bring the same bodies back and sanitizing dominates the cost. The size cap bounds the memo's
    memory: 1024 entries of at most 8k characters, each kept as input, HTML and text (~25 MB).
    """
    render = _render_memoized if len(html) <= _MEMO_MAX_CHARS else _render
    return render(html, base_url)


def _render(html: str, base_url: str | None) -> tuple[str, str]:
    clean = sanitize_html(html, base_url=base_url)
    return clean, html_to_text(clean)


_MEMO_MAX_CHARS = 8192
_render_memoized = functools.lru_cache(maxsize=1024)(_render)


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _names(values: tuple[str, ...]) -> tuple[str, ...]:
    """As plain text; empty ones dropped, duplicates dropped keeping the first."""
    if not values:  # the common case, without building a generator and a dict
        return ()
    return tuple(dict.fromkeys(name for name in map(plain_text, values) if name))


def _media(items: tuple[Media, ...]) -> tuple[Media, ...]:
    """Only items with an absolute http(s) URL; captions as plain text."""
    if not items:
        return ()
    checked = ((absolute_http_url(item.url), item) for item in items)
    return tuple(_clean_media(url, item) for url, item in checked if url)


def _clean_media(url: str, item: Media) -> Media:
    return Media(url=url, kind=plain_text(item.kind), caption=plain_text(item.caption), size=item.size)
