"""Format adapters: pure functions `(body, base_url, *, default_tz) -> ParsedSnapshot`, and format sniffing.

ADAPTERS    name → adapter (guardian, jsonld, syndication, wordpress)
NAMES       every name a source may pin, "auto" included
detect()    content-type + first bytes → adapter name
parse()     detect (unless pinned) and parse
"""

from __future__ import annotations

import re
from datetime import UTC, tzinfo
from typing import Protocol

from feeds.adapters import guardian, jsonld, syndication, wordpress
from feeds.errors import FormatNotDetectedError
from feeds.types import ParsedSnapshot

__all__ = ["ADAPTERS", "NAMES", "Adapter", "detect", "parse"]


class Adapter(Protocol):
    """A pure parser: no network, clock, database or settings."""

    def __call__(self, body: bytes, base_url: str, *, default_tz: tzinfo = UTC) -> ParsedSnapshot: ...


ADAPTERS: dict[str, Adapter] = {
    guardian.NAME: guardian.parse,
    jsonld.NAME: jsonld.parse,
    syndication.NAME: syndication.parse,
    wordpress.NAME: wordpress.parse,
}
NAMES: tuple[str, ...] = ("auto", *ADAPTERS)

SNIFF_BYTES = 65_536
_SUPPORTED = (
    "supported formats: Guardian Content API item JSON (guardian), an HTML page with a schema.org "
    "LiveBlogPosting JSON-LD block (jsonld), RSS, Atom, RDF or JSON Feed (syndication), "
    "WordPress liveblog JSON (wordpress)"
)
_GUARDIAN = re.compile(rb'\A\{\s*"response"\s*:\s*\{.*?"content"\s*:\s*\{', re.DOTALL)
_JSON_FEED = re.compile(rb'"version"\s*:\s*"https?://jsonfeed\.org/')
_WORDPRESS_ENTRIES = re.compile(rb'\A\{.*?"entries"\s*:\s*\[', re.DOTALL)
_WORDPRESS_LIST = re.compile(rb'\A\[\s*\{.*?"entry_time"\s*:', re.DOTALL)
_NON_SPACE = re.compile(rb"\S")
_ELEMENT_NAME = re.compile(rb"<(?:[\w.-]+:)?([\w.-]+)")
_MAX_PROLOG_ITEMS = 32
_FEED_ROOTS = (b"rss", b"feed", b"rdf")
_HTML_ROOTS = (b"html", b"head", b"body")
_CONTENT_TYPES = {
    "application/rss+xml": syndication.NAME,
    "application/atom+xml": syndication.NAME,
    "application/rdf+xml": syndication.NAME,
    "application/feed+json": syndication.NAME,
    "application/xml": syndication.NAME,
    "text/xml": syndication.NAME,
    "text/html": jsonld.NAME,
    "application/xhtml+xml": jsonld.NAME,
}


def detect(content_type: str | None, head: bytes, *, url: str | None = None) -> str:
    """The adapter for a document, from its first bytes, else its content-type.

    Raises `FormatNotDetectedError` (naming the supported formats) when neither tells.
    """
    start = _text_start(head[:SNIFF_BYTES])
    name = _sniff_json(start) if start[:1] in (b"{", b"[") else _sniff_markup(start)
    name = name or _CONTENT_TYPES.get((content_type or "").partition(";")[0].strip().lower())
    if name is None:
        what = "the document is empty" if not start else "the format was not recognised"
        raise FormatNotDetectedError(f"{what}; {_SUPPORTED}", url=url)
    return name


def parse(
    body: bytes,
    base_url: str,
    *,
    adapter: str = "auto",
    content_type: str | None = None,
    default_tz: tzinfo = UTC,
) -> ParsedSnapshot:
    """Parse `body` with the pinned `adapter`, or the detected one when it is "auto".

    Raises `ValueError` for an unknown adapter name, and a `ParseError` for a document it cannot read.
    """
    if adapter not in NAMES:
        raise ValueError(f"unknown adapter {adapter!r}; valid names: {', '.join(NAMES)}")
    name = detect(content_type, body, url=base_url) if adapter == "auto" else adapter
    return ADAPTERS[name](body, base_url, default_tz=default_tz)


def _text_start(head: bytes) -> bytes:
    """The head without BOM and leading whitespace, UTF-16 re-encoded as UTF-8 so one sniffer fits all."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", "ignore").encode()
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()


def _sniff_json(start: bytes) -> str | None:
    if _JSON_FEED.search(start):
        return syndication.NAME
    if _GUARDIAN.match(start):
        return guardian.NAME
    if _WORDPRESS_ENTRIES.match(start) or _WORDPRESS_LIST.match(start):
        return wordpress.NAME
    return None


def _sniff_markup(start: bytes) -> str | None:
    root = _root_element(start)
    if root in _FEED_ROOTS:
        return syndication.NAME
    if root in _HTML_ROOTS or b"application/ld+json" in start.lower():
        return jsonld.NAME
    return None


def _root_element(start: bytes) -> bytes | None:
    """The first element's local name, lowercased, after XML declaration, comments and doctype."""
    position = 0
    for _ in range(_MAX_PROLOG_ITEMS):
        visible = _NON_SPACE.search(start, position)
        if visible is None:
            return None
        position = visible.start()
        closer = _prolog_closer(start, position)
        if closer is None:
            break
        end = start.find(closer, position + 2)
        if end < 0:
            return None
        position = end + len(closer)
    match = _ELEMENT_NAME.match(start, position)
    return match[1].lower() if match else None


def _prolog_closer(start: bytes, position: int) -> bytes | None:
    """How the `<?…?>`, `<!--…-->` or `<!DOCTYPE…>` at `position` ends; None when none starts there."""
    if start.startswith(b"<?", position):
        return b"?>"
    if start.startswith(b"<!--", position):
        return b"-->"
    if not start.startswith(b"<!", position):
        return None
    internal_subset = start.find(b"[", position, start.find(b">", position)) >= 0
    return b"]>" if internal_subset else b">"
