"""RSS 2.0, RSS 1.0 (RDF), Atom and JSON Feed 1.0/1.1 → ParsedSnapshot.

XML goes through feedparser, given a byte stream (a bare `bytes`/`str` argument may be opened as a file path
or fetched as a URL), without its HTML sanitizer or relative-URI rewriting: `timeline.normalize` sanitizes.
Plain RSS 2.0 first goes to `_plain_rss`, which gives feedparser's result for the fields read here 7× faster.
Before either: UTF-16 and UTF-32 documents become UTF-8 (`_encoding`), documents declaring entities that
expand into others or load files are refused (`_xml_entities`), and so are documents nested past
`Limits.max_depth` (`_plain_rss` stops at the depth plain RSS has; the rest is measured before feedparser).
feedparser 6.0 does not read JSON Feed, so JSON Feed is read here with orjson.

Both readers produce `_Entry` values; one builder turns them into updates. A feed is a sliding window, so
the snapshot is never `complete`. An entry's id is its guid/id (stripped), else its link, else
`sha256:` + a hash of its title and time (its text, when it has neither), so a retitled entry without
id or link becomes a new event: there is nothing else to recognise it by.
"""

from __future__ import annotations

import hashlib
import io
import warnings as python_warnings
from datetime import UTC, datetime, tzinfo
from time import struct_time
from typing import NamedTuple

import feedparser

from feeds.adapters import _plain_rss
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
    refusal,
    text,
    text_html,
    too_deep,
    unique,
)
from feeds.adapters._encoding import as_utf8
from feeds.adapters._nesting import xml_exceeds
from feeds.adapters._xml_entities import unsafe_entities
from feeds.errors import InvalidDocumentError
from feeds.types import DEFAULT_LIMITS, Limits, Media, ParsedSnapshot, ParsedUpdate

NAME = "syndication"
_EXPECTED = "an RSS, Atom, RDF or JSON Feed document"
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class _Entry(NamedTuple):
    guid: str | None
    link: str | None
    title: str | None
    published: datetime | None
    updated: datetime | None
    body_html: str
    summary: str | None
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    media: tuple[Media, ...]


class _Feed(NamedTuple):
    title: str | None
    url: str | None
    ended: bool
    entries: list[_Entry]


def parse(
    body: bytes, base_url: str, *, default_tz: tzinfo = UTC, limits: Limits = DEFAULT_LIMITS
) -> ParsedSnapshot:
    """Parse a feed; ill-formed XML is read as far as feedparser can, with a warning."""
    body = as_utf8(body)
    if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        document = load_json(body, base_url, _EXPECTED, limits)
        return read_json_feed(document, base_url, default_tz=default_tz, limits=limits)
    warnings = Warnings()
    return _snapshot(
        _read_xml_feed(body, base_url, Clock(default_tz, warnings), limits, warnings), limits, warnings
    )


def read_json_feed(
    document: object, base_url: str, *, default_tz: tzinfo = UTC, limits: Limits = DEFAULT_LIMITS
) -> ParsedSnapshot:
    """`parse` for a JSON Feed already read as JSON."""
    warnings = Warnings()
    return _snapshot(_read_json_feed(document, base_url, Clock(default_tz, warnings)), limits, warnings)


def _snapshot(feed: _Feed, limits: Limits, warnings: Warnings) -> ParsedSnapshot:
    times = [entry.published or entry.updated for entry in feed.entries]
    updates = build_updates(feed.entries, times, _update, limits, warnings)
    return ParsedSnapshot(
        adapter=NAME,
        title=feed.title,
        url=feed.url,
        ended=feed.ended,
        updates=unique(updates, warnings),
        warnings=warnings.as_tuple(),
    )


def _update(entry: _Entry, published: datetime | None, position: int) -> ParsedUpdate:
    return ParsedUpdate(
        upstream_id=entry.guid or entry.link or _hashed_id(entry),
        published_at=published,
        updated_at=entry.updated,
        title=entry.title,
        summary=entry.summary,
        body_html=entry.body_html,
        url=entry.link,
        authors=entry.authors,
        tags=entry.tags,
        media=entry.media,
        position=position,
    )


def _hashed_id(entry: _Entry) -> str:
    time = entry.published or entry.updated
    key = [entry.title or "", time.isoformat() if time else ""]
    if not any(key):
        key.append(entry.body_html or entry.summary or "")
    if not any(key):
        raise ValueError("the entry has no id, link, title, date or text")
    return "sha256:" + hashlib.sha256("\n".join(key).encode()).hexdigest()[:32]


# --- XML via feedparser ---------------------------------------------------------------------------


def _read_xml_feed(body: bytes, base_url: str, clock: Clock, limits: Limits, warnings: Warnings) -> _Feed:
    if (reason := unsafe_entities(body)) is not None:
        raise InvalidDocumentError(
            f"the document was refused unread: {reason} (no feed needs that; entity attacks do)",
            url=base_url,
        )
    parsed = _plain_rss.read(body, base_url) or _feedparser(body, base_url, limits)
    entries = get(parsed, "entries", list) or []
    problem = get(parsed, "bozo_exception", Exception)
    if not get(parsed, "version", str) and not entries:
        raise refusal(body, base_url, _EXPECTED, f"not a feed{f' ({problem})' if problem else ''}")
    if problem is not None:
        warnings.add(f"the feed is not well-formed XML ({problem}); read what could be parsed")
    channel = get(parsed, "feed", dict)
    return _Feed(
        title=text(channel, "title"),
        url=absolute_url(get(channel, "link", str), base_url),
        ended=False,
        entries=[_xml_entry(entry, base_url, clock) for entry in entries if isinstance(entry, dict)],
    )


def _feedparser(body: bytes, base_url: str, limits: Limits) -> Raw:
    if xml_exceeds(body, limits.max_depth):
        raise too_deep(base_url, limits)
    # The content-type stops feedparser flagging every feed as bozo for lacking one; without a charset,
    # RFC 7303 lets the BOM or XML declaration decide the encoding.
    headers = {"content-type": "application/xml", "content-location": base_url}
    with python_warnings.catch_warnings():
        python_warnings.simplefilter("ignore")
        result: Raw = feedparser.parse(
            io.BytesIO(body), response_headers=headers, resolve_relative_uris=False, sanitize_html=False
        )
    return result


def _xml_entry(entry: Raw, base_url: str, clock: Clock) -> _Entry:
    body, summary = _xml_texts(entry)
    return _Entry(
        guid=text(entry, "id"),
        link=absolute_url(get(entry, "link", str), base_url),
        title=text(entry, "title"),
        published=_xml_time(entry, "published", clock),
        updated=_xml_time(entry, "updated", clock),
        body_html=body,
        summary=summary,
        authors=_names(get(entry, "authors", list)) or _names([get(entry, "author", str)]),
        tags=tuple(term for tag in as_list(get(entry, "tags", list)) if (term := text(tag, "term"))),
        media=_xml_media(entry, base_url),
    )


def _xml_texts(entry: Raw) -> tuple[str, str | None]:
    """The body (the content, else the summary) and a summary when it differs from the body."""
    content = next((c for c in as_list(get(entry, "content", list)) if get(c, "value", str)), None)
    body = _html_of(content)
    summary = _html_of(get(entry, "summary_detail", dict)) or get(entry, "summary", str)
    if body is None:
        return summary or "", None
    return body, summary if summary != body else None


def _xml_time(entry: Raw, key: str, clock: Clock) -> datetime | None:
    """Our parse of the raw date, else feedparser's (it knows more exotic formats; always UTC)."""
    parsed = get(entry, f"{key}_parsed", struct_time)
    return clock.first(entry, key) or (_from_struct(parsed) if parsed else None)


def _html_of(detail: object) -> str | None:
    value = get(detail, "value", str)
    if not value or get(detail, "type", str) in (*_HTML_TYPES, None):
        return value or None
    return text_html(value)


def _from_struct(value: struct_time) -> datetime | None:
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _xml_media(entry: Raw, base_url: str) -> tuple[Media, ...]:
    thumbnails = [(t, "url", "image") for t in as_list(get(entry, "media_thumbnail", list))]
    contents = [(c, "url", None) for c in as_list(get(entry, "media_content", list))]
    links = [
        (e, "href", None) for e in as_list(get(entry, "links", list)) if get(e, "rel", str) == "enclosure"
    ]
    found = (_medium(raw, key, kind, base_url) for raw, key, kind in (*thumbnails, *contents, *links))
    return tuple(media for media in found if media is not None)


def _medium(raw: object, key: str, kind: str | None, base_url: str) -> Media | None:
    url = absolute_url(get(raw, key, str), base_url)
    if url is None:
        return None
    kind = kind or text(raw, "type") or text(raw, "medium")
    return Media(url=url, kind=kind, caption=text(raw, "title"), size=_size(raw))


def _size(raw: object) -> int | None:
    """The size in bytes a feed declares: RSS and Atom enclosures' `length`, Media RSS `fileSize`, JSON Feed
    `size_in_bytes`. Feeds write 0 when they do not know (RSS requires the attribute): unknown, as is
    anything but a whole number."""
    sizes = (_whole(get(raw, key, object)) for key in ("length", "filesize", "size_in_bytes"))
    return next((size for size in sizes if size), None)


def _whole(value: object) -> int | None:
    """A whole number given as a number or as ASCII digits (XML attributes are text)."""
    if isinstance(value, str):
        digits = value.strip()
        return int(digits) if digits.isascii() and digits.isdigit() else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _names(values: object) -> tuple[str, ...]:
    names = (v.strip() if isinstance(v, str) else text(v, "name") for v in as_list(values))
    return tuple(name for name in names if name)


# --- JSON Feed (https://jsonfeed.org/version/1.1) --------------------------------------------------


def _read_json_feed(document: object, base_url: str, clock: Clock) -> _Feed:
    version = text(document, "version")
    if version is None or "jsonfeed.org" not in version:
        raise json_refusal(document, base_url, _EXPECTED, "JSON without a jsonfeed.org version")
    feed_authors = _json_authors(document)
    items = get(document, "items", list) or []
    return _Feed(
        title=text(document, "title"),
        url=absolute_url(get(document, "home_page_url", str), base_url),
        ended=get(document, "expired", bool) is True,
        entries=[
            _json_entry(item, base_url, clock, feed_authors) for item in items if isinstance(item, dict)
        ],
    )


def _json_entry(item: Raw, base_url: str, clock: Clock, feed_authors: tuple[str, ...]) -> _Entry:
    link = absolute_url(get(item, "url", str), base_url)
    return _Entry(
        guid=ident(dict.get(item, "id")),
        link=link or absolute_url(get(item, "external_url", str), base_url),
        title=text(item, "title"),
        published=clock.first(item, "date_published"),
        updated=clock.first(item, "date_modified"),
        body_html=get(item, "content_html", str) or text_html(get(item, "content_text", str)),
        summary=text(item, "summary"),
        authors=_json_authors(item) or feed_authors,
        tags=_names(get(item, "tags", list)),
        media=_json_media(item, base_url),
    )


def _json_authors(raw: object) -> tuple[str, ...]:
    """`authors` (1.1), else `author` (1.0)."""
    return _names(get(raw, "authors", list)) or _names([get(raw, "author", dict)])


def _json_media(item: Raw, base_url: str) -> tuple[Media, ...]:
    images = [
        Media(url=url, kind="image")
        for key in ("image", "banner_image")
        if (url := absolute_url(get(item, key, str), base_url))
    ]
    attachments = (
        _medium(a, "url", text(a, "mime_type"), base_url) for a in as_list(get(item, "attachments", list))
    )
    return tuple(images) + tuple(media for media in attachments if media is not None)
