"""Which adapter reads a document: JSON is read as JSON, markup by its root element, in any encoding.

JSON is parsed whole with orjson (so a BOM, whitespace, any key order and escapes such as `https:\\/\\/`
mean nothing to it), and the parsed value goes on to the adapter, which does not parse it again: the
detection costs one `orjson.loads` that the adapter would have paid anyway. When the bytes are not valid
JSON (cut off, or broken), the head is read as far as it goes, so that the adapter for the format can say
what is wrong with it. Markup is told by its root element, after the XML declaration, comments and
DOCTYPE, from a head rewritten as UTF-8 when it is UTF-16 or UTF-32.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import orjson

from feeds.adapters import guardian, jsonld, syndication, wordpress
from feeds.adapters._encoding import as_utf8
from feeds.adapters._error_bodies import describe, describe_json
from feeds.errors import FormatNotDetectedError

SNIFF_BYTES = 65_536
NOT_READ = object()  # the body is not valid JSON: JSON's own null is None
_SUPPORTED = (
    "supported formats: Guardian Content API item JSON (guardian), an HTML page with a schema.org "
    "LiveBlogPosting JSON-LD block (jsonld), RSS, Atom, RDF or JSON Feed (syndication), "
    "WordPress liveblog JSON (wordpress)"
)
_BOM = b"\xef\xbb\xbf"
_SPACE = b" \t\r\n"
_JSON_FEED_VERSION = re.compile(r"https?://jsonfeed\.org/version/", re.IGNORECASE)
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
# One JSON token: punctuation, a string, or another scalar (whose value detection never needs).
_JSON_TOKEN = re.compile(
    rb'\s*+(?:([{}\[\]:,])|("(?:[^"\\]++|\\.)*+")|(-?[0-9][0-9.eE+-]*+|true|false|null))'
)


class Sniffed(NamedTuple):
    name: str
    document: object  # the parsed JSON, or NOT_READ
    body: bytes  # the body in UTF-8, as it was parsed


def sniff(content_type: str | None, body: bytes, *, url: str | None = None) -> Sniffed:
    """The adapter for `body` (from its bytes, else its content-type), and its JSON when it is JSON.

    Raises `FormatNotDetectedError`, saying what the body is when it is empty or recognisably an error.
    """
    utf8 = as_utf8(body).removeprefix(_BOM)
    head = utf8[:SNIFF_BYTES].lstrip(_SPACE)
    if not head:
        raise FormatNotDetectedError(f"{describe(body)}; {_SUPPORTED}", url=url)
    if head[:1] in (b"{", b"["):
        name, document = _sniff_json(head, utf8, url)
    else:
        name, document = _markup_format(head), NOT_READ
    name = name or _CONTENT_TYPES.get((content_type or "").partition(";")[0].strip().lower())
    if name is None:
        what = describe(body)
        raise FormatNotDetectedError(
            f"the format was not recognised{f': {what}' if what else ''}; {_SUPPORTED}", url=url
        )
    return Sniffed(name, document, utf8)


def _sniff_json(head: bytes, utf8: bytes, url: str | None) -> tuple[str | None, object]:
    """The format and the parsed document; an API's error object is refused here, with its message."""
    document = _json(utf8)
    name = _json_format(_head_value(head) if document is NOT_READ else document)
    if name is None and (error := describe_json(document)) is not None:
        raise FormatNotDetectedError(f"{error}; {_SUPPORTED}", url=url)
    return name, document


def _json(utf8: bytes) -> object:
    try:
        return orjson.loads(utf8)
    except orjson.JSONDecodeError:
        return NOT_READ


def _json_format(value: object) -> str | None:
    if isinstance(value, list):
        first = value[0] if value else None
        return wordpress.NAME if isinstance(first, dict) and "entry_time" in first else None
    if not isinstance(value, dict):
        return None
    version = value.get("version")
    if isinstance(version, str) and _JSON_FEED_VERSION.match(version):
        return syndication.NAME
    response = value.get("response")
    if isinstance(response, dict) and isinstance(response.get("content"), dict):
        return guardian.NAME
    return wordpress.NAME if isinstance(value.get("entries"), list) else None


# --- a head that is not valid JSON, read as far as it goes ----------------------------------------------


def _head_value(head: bytes) -> object:
    """The value `head` begins, read up to where it is cut off or goes wrong, with open containers kept."""
    reader = _PartialJSON()
    position = 0
    while not reader.done and (token := _JSON_TOKEN.match(head, position)) is not None:
        position = token.end()
        if not reader.feed(*token.groups()):
            break
    return reader.root


class _PartialJSON:
    """Builds the value from tokens; anything unexpected ends the reading, keeping what was built."""

    def __init__(self) -> None:
        self.root: object = None
        self.done = False
        self._open: list[dict[str, object] | list[object]] = []
        self._key: str | None = None

    def feed(self, punctuation: bytes | None, string: bytes | None, scalar: bytes | None) -> bool:
        """Take one token; False when it cannot be where it is."""
        if punctuation in (b"{", b"["):
            return self._start({} if punctuation == b"{" else [])
        if punctuation in (b"}", b"]"):
            return self._end()
        if punctuation is not None:
            return True  # `:` and `,`: whether a key or a value comes next is known from the key
        value = _string(string) if string is not None else scalar
        if isinstance(self._top, dict) and self._key is None:
            self._key = value if isinstance(value, str) else None
            return self._key is not None
        return self._add(value)

    @property
    def _top(self) -> dict[str, object] | list[object] | None:
        return self._open[-1] if self._open else None

    def _start(self, container: dict[str, object] | list[object]) -> bool:
        if not self._add(container):
            return False
        self._open.append(container)
        return True

    def _end(self) -> bool:
        if not self._open:
            return False
        self._open.pop()
        self.done = not self._open
        return True

    def _add(self, value: object) -> bool:
        top = self._top
        if top is None:
            self.root = value
        elif isinstance(top, list):
            top.append(value)
        elif self._key is None:
            return False
        else:
            top[self._key] = value
            self._key = None
        return True


def _string(token: bytes) -> str | None:
    try:
        value = orjson.loads(token)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, str) else None


# --- markup -----------------------------------------------------------------------------------------------


def _markup_format(start: bytes) -> str | None:
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
