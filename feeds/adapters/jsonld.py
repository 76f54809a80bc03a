"""HTML page with a schema.org `LiveBlogPosting` in JSON-LD → ParsedSnapshot.

Every `<script type="application/ld+json">` is read leniently (`_lenient_json`); the blog may sit at the top,
in a list, or in `@graph`. Choices:

- An update without `@id` or `url` gets the id `datePublished:<UTC time>#<n>`, n counting the updates that
  share that time from the oldest end: an edited text keeps its id, and newer updates do not shift it.
- A page shows only the latest updates, so the snapshot is never `complete`.
- Adapters have no clock, so `ended` means an update was published at or after `coverageEndTime`.
- A video given only by its thumbnail (as in schema.org's own example) becomes that image.
- A page (or a JSON-LD block) nested past `Limits.max_depth` is refused before the HTML tree is built.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from feeds.adapters import _lenient_json
from feeds.adapters._common import (
    Clock,
    Raw,
    Warnings,
    absolute_url,
    as_list,
    body_html,
    build_updates,
    check_json_depth,
    clean_title,
    get,
    text,
    too_deep,
    unique,
)
from feeds.adapters._encoding import as_utf8
from feeds.adapters._error_bodies import describe, page_title, quoted
from feeds.adapters._nesting import html_exceeds
from feeds.errors import InvalidDocumentError
from feeds.types import DEFAULT_LIMITS, Limits, Media, ParsedSnapshot, ParsedUpdate

NAME = "jsonld"
_EXPECTED = 'a schema.org LiveBlogPosting in a <script type="application/ld+json"> block'
_MAX_DEPTH = 4  # top level → list → @graph → item: deep enough for real pages, bounded for hostile ones
_JSON_LD_MARKER = re.compile(rb"ld\+json", re.IGNORECASE)
_HAS_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
_MEDIA_URL_KEYS = ("contentUrl", "url", "embedUrl")


def parse(
    body: bytes, base_url: str, *, default_tz: tzinfo = UTC, limits: Limits = DEFAULT_LIMITS
) -> ParsedSnapshot:
    """Parse the page's LiveBlogPosting(s); `base_url` resolves relative ids and links."""
    body = as_utf8(body)
    warnings = Warnings()
    blogs = _live_blogs(_json_ld_values(body, base_url, limits, warnings))
    if not blogs:
        raise InvalidDocumentError(f"{_not_found(body)}; expected {_EXPECTED}", url=base_url)
    clock = Clock(default_tz, warnings)
    raws = list(_raw_updates(blogs, warnings))
    times = [clock.first(raw, "datePublished", "dateModified", "dateCreated") for raw in raws]
    built = build_updates(
        raws, times, lambda raw, time, rank: _update(raw, time, rank, base_url, clock), limits, warnings
    )
    updates = unique(built, warnings)
    coverage_end = clock.first(blogs[0], "coverageEndTime")
    return ParsedSnapshot(
        adapter=NAME,
        title=_plain(blogs[0], "headline"),
        url=_blog_url(blogs[0], base_url),
        complete=False,
        ended=_ended(coverage_end, updates),
        coverage_start=clock.first(blogs[0], "coverageStartTime"),
        coverage_end=coverage_end,
        updates=updates,
        warnings=warnings.as_tuple(),
    )


def _not_found(body: bytes) -> str:
    """Why no LiveBlogPosting was found: the page's title often says ("404 Not Found")."""
    title = page_title(body)
    if title is not None:
        return f"no LiveBlogPosting found in the page titled {quoted(title)}"
    return describe(body) or "no LiveBlogPosting found"


def _json_ld_values(body: bytes, url: str, limits: Limits, warnings: Warnings) -> Iterator[object]:
    for number, script in enumerate(_json_ld_scripts(body, url, limits, warnings), start=1):
        check_json_depth(script.encode(), url, limits)
        try:
            value, repairs = _lenient_json.loads(script)
        except _lenient_json.LenientJSONError as error:
            warnings.add(f"JSON-LD block {number} skipped: {error}")
            continue
        for repair in repairs:
            warnings.add(f"JSON-LD block {number}: {repair}")
        yield value


def _json_ld_scripts(body: bytes, url: str, limits: Limits, warnings: Warnings) -> list[str]:
    if not _JSON_LD_MARKER.search(body):  # the common "not a JSON-LD page" case, without parsing HTML
        return []
    if html_exceeds(body, limits.max_depth):
        raise too_deep(url, limits)
    tree = LexborHTMLParser(_decode(body, warnings))
    return [node.text() or "" for node in tree.css("script") if _is_json_ld(node.attributes.get("type"))]


def _decode(body: bytes, warnings: Warnings) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        warnings.add("the page is not valid UTF-8; undecodable bytes were replaced")
        return body.decode("utf-8", "replace")


def _is_json_ld(type_attribute: str | None) -> bool:
    return (type_attribute or "").partition(";")[0].strip().lower() == "application/ld+json"


def _live_blogs(values: Iterator[object]) -> list[Raw]:
    """Every LiveBlogPosting at the top, in lists or in `@graph`, in document order; no recursion."""
    found: list[Raw] = []
    stack: list[tuple[object, int]] = [(value, 0) for value in reversed(list(values))]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict) and _is_live_blog(node):
            found.append(node)
            continue
        children = node if isinstance(node, list) else as_list(get(node, "@graph", object))
        if depth < _MAX_DEPTH:
            stack.extend((child, depth + 1) for child in reversed(children))
    return found


def _is_live_blog(node: Raw) -> bool:
    types = (t for t in as_list(node.get("@type")) if isinstance(t, str))
    return any(t.rpartition("/")[2].rpartition(":")[2] == "LiveBlogPosting" for t in types)


def _raw_updates(blogs: list[Raw], warnings: Warnings) -> Iterator[Raw]:
    for blog in blogs:
        for raw in as_list(blog.get("liveBlogUpdate")):
            if isinstance(raw, dict):
                yield raw
            else:
                warnings.add("a liveBlogUpdate that is not an object was skipped")


def _update(raw: Raw, published: datetime | None, position: int, base_url: str, clock: Clock) -> ParsedUpdate:
    return ParsedUpdate(
        upstream_id=_given_id(raw, base_url) or _derived_id(raw, published, position, clock),
        published_at=published,
        updated_at=clock.first(raw, "dateModified"),
        title=_plain(raw, "headline") or _plain(raw, "name"),
        summary=_plain(raw, "description"),
        body_html=body_html(get(raw, "articleBody", str) or get(raw, "text", str)),
        url=absolute_url(raw.get("url"), base_url) or absolute_url(raw.get("@id"), base_url),
        authors=_names(raw.get("author")),
        media=_media(raw, base_url),
        position=position,
    )


def _given_id(raw: Raw, base_url: str) -> str | None:
    """`@id` or `url`, resolved against the page (fragment kept); blank nodes (`_:b0`) are not ids."""
    for key in ("@id", "url"):
        value = text(raw, key)
        if value and not value.startswith("_:"):
            return value if _HAS_SCHEME.match(value) else _join(base_url, value)
    return None


def _join(base_url: str, reference: str) -> str | None:
    try:
        return urljoin(base_url, reference)
    except ValueError:
        return None


def _derived_id(raw: Raw, published: datetime | None, position: int, clock: Clock) -> str:
    if published is None or clock.first(raw, "datePublished") != published:
        raise ValueError("it has no @id, url or datePublished to identify it by")
    return f"datePublished:{published.isoformat().replace('+00:00', 'Z')}#{position}"


def _plain(raw: object, key: str) -> str | None:
    """A plain-text field: JSON-LD text often carries HTML entities and zero-width characters."""
    value = text(raw, key)
    return clean_title(html.unescape(value) if value and "&" in value else value)


def _names(value: object) -> tuple[str, ...]:
    names = (item.strip() if isinstance(item, str) else text(item, "name") for item in as_list(value))
    return tuple(name for name in names if name)


def _media(raw: Raw, base_url: str) -> tuple[Media, ...]:
    images = (_medium(value, "image", base_url) for value in as_list(raw.get("image")))
    videos = (_medium(value, "video", base_url) for value in as_list(raw.get("video")))
    return tuple(media for media in (*images, *videos) if media is not None)


def _medium(value: object, kind: str, base_url: str) -> Media | None:
    if isinstance(value, str):
        url = absolute_url(value, base_url)
        return Media(url=url, kind=kind) if url else None
    urls = (absolute_url(get(value, key, str), base_url) for key in _MEDIA_URL_KEYS)
    url = next((u for u in urls if u), None)
    if url is None:
        thumbnail = get(value, "thumbnailUrl", str) or get(value, "thumbnail", str)
        return _medium(thumbnail, "image", base_url) if kind == "video" and thumbnail else None
    caption = _plain(value, "caption") or _plain(value, "description") or _plain(value, "name")
    return Media(url=url, kind=kind, caption=caption)


def _blog_url(blog: Raw, base_url: str) -> str | None:
    candidates = (blog.get("url"), blog.get("@id"), blog.get("mainEntityOfPage"), base_url)
    return next((url for c in candidates if (url := absolute_url(c, base_url))), None)


def _ended(coverage_end: datetime | None, updates: tuple[ParsedUpdate, ...]) -> bool:
    newest = max((u.published_at for u in updates if u.published_at is not None), default=None)
    return coverage_end is not None and newest is not None and newest >= coverage_end
