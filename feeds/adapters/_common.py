"""Helpers the adapters share: lenient field access, URLs, times, positions, warnings, limits, refusals."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from itertools import pairwise
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import orjson

from feeds.adapters._encoding import as_utf8
from feeds.adapters._error_bodies import describe, describe_json
from feeds.adapters._nesting import json_exceeds
from feeds.errors import InvalidDocumentError
from feeds.timeparse import parse_time
from feeds.types import Limits, ParsedUpdate

T = TypeVar("T")
Raw = dict[str, object]

_MAX_WARNINGS = 20
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# Known tag names or entities, so that plain text like "a <b" or "<two>" is not taken for HTML.
_LOOKS_LIKE_HTML = re.compile(
    r"</?(?:a|abbr|article|aside|audio|b|blockquote|br|caption|cite|code|dd|del|div|dl|dt|em|figcaption"
    r"|figure|h[1-6]|header|hr|i|iframe|img|ins|li|mark|ol|p|picture|pre|q|s|section|small|source|span"
    r"|strong|sub|sup|table|tbody|td|th|thead|time|tr|u|ul|video)\b[^<>]*>"
    r"|&(?:[a-zA-Z]{2,8}|#\d{1,7}|#x[0-9a-fA-F]{1,6});",
    re.IGNORECASE,
)
_PLAIN_ABSOLUTE = re.compile(r"https?://[\w.:@-]+(?:[/?#][^\s\\]*)?")
_BLANK_LINES = re.compile(r"\n\s*\n")
_OLDEST = datetime.min.replace(tzinfo=UTC)
# orjson's own refusal (it stops at 1024 levels), recognised to say what it means.
_ORJSON_TOO_DEEP = "depth limit exceeded"


class Warnings:
    """One human sentence per problem, deduplicated, in order, capped so a bad document stays readable."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}
        self._dropped = 0

    def add(self, message: str | None, *, always: bool = False) -> None:
        """Keep `message`; past the cap only when `always` (what the limits cut must stay visible)."""
        if message is None or message in self._seen:
            return
        if len(self._seen) < _MAX_WARNINGS or always:
            self._seen[message] = None
        else:
            self._dropped += 1

    def as_tuple(self) -> tuple[str, ...]:
        more = (f"… and {self._dropped} more warnings",) if self._dropped else ()
        return (*self._seen, *more)


def get(obj: object, key: str, kind: type[T]) -> T | None:
    """`obj[key]` when `obj` is a dict and the value is a `kind` (a bool is never an int), else None.

    `dict.get` bypasses the key aliases (and deprecation warnings) of dict subclasses like feedparser's.
    """
    if not isinstance(obj, dict):
        return None
    value = dict.get(obj, key)
    if isinstance(value, bool) and kind is not bool:
        return None
    return value if isinstance(value, kind) else None


def text(obj: object, key: str) -> str | None:
    """A non-empty stripped string field, else None."""
    value = get(obj, key, str)
    return value.strip() or None if value is not None else None


def ident(value: object) -> str | None:
    """An id given as a string or an integer, stripped; None when empty or of another type."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() or None if isinstance(value, str) else None


def as_list(value: object) -> list[object]:
    """JSON's "one or many": a list as-is, None as empty, anything else as a one-item list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def clean_title(value: str | None) -> str | None:
    """Drop zero-width characters (U+200B…) that publishers leave in headlines."""
    if value is None:
        return None
    return _ZERO_WIDTH.sub("", value).strip() or None


def absolute_url(value: object, base_url: str) -> str | None:
    """`value` resolved against `base_url`; only absolute http(s) URLs are kept."""
    if not isinstance(value, str):
        return None
    if _PLAIN_ABSOLUTE.fullmatch(value):  # the common case, without urljoin's cost
        return value
    if not value.strip():
        return None
    try:
        resolved = urljoin(base_url, value.strip())
        scheme, netloc = urlsplit(resolved)[:2]
    except ValueError:
        return None
    return resolved if scheme in ("http", "https") and netloc else None


def body_html(value: str | None) -> str:
    """A body that may be HTML or plain text: HTML as-is, plain text as `text_html`."""
    if not value:
        return ""
    return value if _LOOKS_LIKE_HTML.search(value) else text_html(value)


def text_html(value: str | None) -> str:
    """Plain text escaped into paragraphs (at blank lines) with `<br>` at single newlines."""
    paragraphs = (p.strip() for p in _BLANK_LINES.split(value or ""))
    return "".join(f"<p>{html.escape(p, quote=False).replace(chr(10), '<br>')}</p>" for p in paragraphs if p)


def load_json(body: bytes, url: str, expected: str, limits: Limits) -> object:
    """Strict JSON (UTF-8 with or without a BOM, UTF-16 or UTF-32) within `limits.max_depth`.

    Anything else raises `InvalidDocumentError` saying what came instead of what was `expected`.
    """
    data = as_utf8(body).removeprefix(b"\xef\xbb\xbf")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if _ORJSON_TOO_DEEP in str(error):
            raise too_deep(url, limits) from error
        raise refusal(body, url, expected, f"not valid JSON ({error})") from error
    check_json_depth(data, url, limits)
    return document


def check_json_depth(data: bytes, url: str, limits: Limits) -> None:
    if json_exceeds(data, limits.max_depth):
        raise too_deep(url, limits)


def too_deep(url: str, limits: Limits) -> InvalidDocumentError:
    return InvalidDocumentError(
        f"the document nests more than {limits.max_depth} levels deep, which no live blog does; "
        "it was refused unread",
        url=url,
    )


def refusal(body: bytes, url: str, expected: str, fallback: str) -> InvalidDocumentError:
    """The error for a body that is not the `expected` format: what it is instead, else `fallback`."""
    return InvalidDocumentError(f"{describe(body) or fallback}; expected {expected}", url=url)


def json_refusal(document: object, url: str, expected: str, fallback: str) -> InvalidDocumentError:
    """`refusal` for a body already read as JSON."""
    return InvalidDocumentError(f"{describe_json(document) or fallback}; expected {expected}", url=url)


class Clock:
    """Parses times for one document in the source's zone, collecting each assumption once.

    Numbers are read as epoch times only for formats that use them (`epoch=True`); elsewhere a number
    in a date field is a wrong type, and degrades to None.
    """

    def __init__(self, default_tz: tzinfo, warnings: Warnings, *, epoch: bool = False) -> None:
        self._default_tz = default_tz
        self._warnings = warnings
        self._epoch = epoch

    def first(self, raw: object, *keys: str) -> datetime | None:
        """The first of `keys` in `raw` that holds a parseable time."""
        for key in keys:
            value = dict.get(raw, key) if isinstance(raw, dict) else None
            if isinstance(value, str) or (self._epoch and isinstance(value, int | float)):
                parsed, warning = parse_time(value, default_tz=self._default_tz)
                self._warnings.add(warning)
                if parsed is not None:
                    return parsed
        return None


def positions(times: Sequence[datetime | None]) -> list[int]:
    """Each item's rank among the items sharing its time, counted from the oldest end of the document.

    The document's direction is read from its times: oldest-first when more neighbours ascend than
    descend, else newest-first (what live blogs and feeds usually do).
    """
    indexes = range(len(times)) if _oldest_first(times) else range(len(times) - 1, -1, -1)
    seen: Counter[datetime | None] = Counter()
    ranks = [0] * len(times)
    for index in indexes:
        ranks[index] = seen[times[index]]
        seen[times[index]] += 1
    return ranks


def _oldest_first(times: Sequence[datetime | None]) -> bool:
    known = [t for t in times if t is not None]
    ascending = sum(a < b for a, b in pairwise(known))
    descending = sum(a > b for a, b in pairwise(known))
    return ascending > descending


Build = Callable[[T, datetime | None, int], ParsedUpdate]


def build_updates(
    raws: Sequence[T], times: Sequence[datetime | None], build: Build[T], limits: Limits, warnings: Warnings
) -> list[ParsedUpdate]:
    """`build(raw, time, position)` for the newest `limits.max_updates` raws, in document order.

    One that fails (`ValueError`, pydantic's included) is skipped with a warning, and fields past their
    size limits are cut.
    """
    ranks = positions(times)
    updates = []
    for index in _newest(times, ranks, limits.max_updates, warnings):
        try:
            updates.append(build(raws[index], times[index], ranks[index]))
        except ValueError as error:
            warnings.add(f"update #{index + 1} skipped: {_first_line(error)}")
    return _cut_fields(updates, limits, warnings)


def _newest(
    times: Sequence[datetime | None], ranks: Sequence[int], limit: int, warnings: Warnings
) -> Iterable[int]:
    """The indexes of the `limit` newest updates, in document order.

    Newest by time, then by the document's own order; an update without a time counts as newer than any
    with one, as the time it gets is the moment it is first seen.
    """
    if len(times) <= limit:
        return range(len(times))
    by_age = sorted(range(len(times)), key=lambda i: (times[i] is None, times[i] or _OLDEST, ranks[i]))
    warnings.add(
        f"the document holds {len(times):,} updates, more than the limit of {limit:,}: "
        f"kept the newest {limit:,} and left out {len(times) - limit:,} older ones",
        always=True,
    )
    return sorted(by_age[-limit:])


def _cut_fields(updates: list[ParsedUpdate], limits: Limits, warnings: Warnings) -> list[ParsedUpdate]:
    """Titles, summaries and bodies past their limits, cut to them (ending in "…"); one warning in all."""
    caps = {
        "title": limits.max_title_chars,
        "summary": limits.max_summary_chars,
        "body_html": limits.max_body_chars,
    }
    cut = 0
    for number, update in enumerate(updates):
        changes = {
            field: _cut(value, cap)
            for field, cap in caps.items()
            if len(value := getattr(update, field) or "") > cap
        }
        if changes:
            updates[number] = update.model_copy(update=changes)
            cut += len(changes)
    if cut:
        warnings.add(
            f"{cut:,} {'field was' if cut == 1 else 'fields were'} too long and cut to the limits "
            f"(titles {limits.max_title_chars:,}, summaries {limits.max_summary_chars:,}, "
            f"bodies {limits.max_body_chars:,} characters)",
            always=True,
        )
    return updates


def _cut(value: str, cap: int) -> str:
    return value[: cap - 1] + "…"


def unique(updates: Iterable[ParsedUpdate], warnings: Warnings) -> tuple[ParsedUpdate, ...]:
    """Keep the first update of each upstream id."""
    kept: dict[str, ParsedUpdate] = {}
    for update in updates:
        if update.upstream_id in kept:
            warnings.add(f"duplicate update id {update.upstream_id!r}: kept the first")
        else:
            kept[update.upstream_id] = update
    return tuple(kept.values())


def _first_line(error: Exception) -> str:
    return str(error).partition("\n")[0][:200]
