"""How deeply a document nests, measured by linear scans that stop as soon as the limit is passed.

Parsers that build trees (ElementTree, feedparser's handlers, the HTML tree builder, which looks through
the open elements on every tag) do work that grows with depth: a few megabytes of `<a><a><a>…` keep
them busy for minutes. These checks run before such a parser sees the document.

- JSON: every byte but brackets goes in one C pass, and each later pass removes the innermost pairs, so a
  document that empties within a few passes is exactly as deep as the number of passes. Brackets inside
  strings count too, which keeps the check a few C passes over the bytes: real text does not hold a
  hundred unclosed brackets, and a hostile document that hides depth behind closing brackets in its
  strings still meets orjson's own refusal past 1024 levels; no reader here recurses into JSON.
- XML: one regex walks comments, CDATA, declarations and tags. Every part of it always matches, so no
  byte is scanned twice, whatever is left unclosed. A start tag opens a level, an end tag closes one.
- HTML: the same walk, keeping the open elements roughly as the HTML tree builder does, so that a sloppy
  page is not counted deeper than it is, nor a hostile one shallower: void elements and the ones HTML
  closes by itself when a sibling starts (`p`, `li`, table cells…) open nothing, script and style text
  is skipped, and an end tag closes up to its element unless a boundary lies between.
"""

from __future__ import annotations

import re
from itertools import accumulate

# Passes of removing the innermost brackets before counting one by one; real JSON nests less deeply.
_QUICK_PASSES = 16
_OBJECTS_AS_ARRAYS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_OPENING = ord("[")

# A start or end tag: group 1 is "/" for an end tag, group 2 the name. As in HTML, a quote starts a
# quoted value only after `=`, and a value or tag left open runs to the end of the document.
_TAG = rb"""(/?)([A-Za-z_:][^\s/>]*+)(?:[^>"'=]++|=\s*+(?:"[^"]*+"?|'[^']*+'?)?|["'])*+>?"""
# Every alternative matches once it has started, so the scan never comes back over bytes it has read.
_XML_MARKUP = re.compile(
    rb"<(?:"
    + _TAG
    + rb"|!--[^-]*+(?:-(?!->)[^-]*+)*+(?:-->)?"
    + rb"|!\[CDATA\[[^\]]*+(?:\](?!\]>)[^\]]*+)*+(?:\]\]>)?"
    + rb"|\?[^?]*+(?:\?(?!>)[^?]*+)*+(?:\?>)?"
    + rb"|[!/][^>]*+>?)"
)
# HTML ends comments differently, and ends `<?…`, `<![CDATA[…` and other odd markup at the first `>`.
_HTML_MARKUP = re.compile(
    rb"<(?:" + _TAG + rb"|!--(?:-?>|[^-]*+(?:-(?!-!?>)[^-]*+)*+(?:--!?>)?)" + rb"|[!?/][^>]*+>?)"
)
_VOID = frozenset(
    b"area base basefont bgsound br col embed frame hr img input keygen link meta param source track "
    b"wbr".split()
)
_CLOSED_BY_SIBLINGS = frozenset(
    b"p li dt dd option optgroup rb rt rtc rp tr td th tbody thead tfoot colgroup caption html head "
    b"body".split()
)
_RAW_TEXT = frozenset(b"script style textarea title xmp iframe noembed noframes".split())
# An end tag never closes past these…
_SCOPE = frozenset(b"applet caption html table td th marquee object template".split())
# …and an end tag of an ordinary (phrasing) element never closes past these either.
_SPECIAL = _SCOPE | frozenset(
    b"address article aside blockquote button center dd details dir div dl dt fieldset figcaption figure "
    b"footer form frameset h1 h2 h3 h4 h5 h6 header hgroup li listing main menu nav ol p plaintext pre "
    b"search section select summary tbody tfoot thead tr ul".split()
)


def json_exceeds(body: bytes, limit: int) -> bool:
    """Whether JSON nests containers deeper than `limit`."""
    return _brackets_exceed(body.translate(_OBJECTS_AS_ARRAYS, _NOT_BRACKETS), limit)


def xml_exceeds(body: bytes, limit: int) -> bool:
    """Whether XML (well-formed or not) nests elements deeper than `limit`."""
    if body.count(b"<") <= limit:
        return False
    depth = 0
    for tag in _XML_MARKUP.finditer(body):
        if tag[2] is None:
            continue
        if tag[1]:
            depth = max(depth - 1, 0)
        elif not tag[0].endswith(b"/>"):
            depth += 1
            if depth > limit:
                return True
    return False


def html_exceeds(body: bytes, limit: int) -> bool:
    """Whether an HTML page nests elements deeper than `limit`, as a browser would build it."""
    if body.count(b"<") <= limit:
        return False
    open_elements = _OpenElements()
    position = 0
    while (tag := _HTML_MARKUP.search(body, position)) is not None:
        position = tag.end()
        name = tag[2].lower() if tag[2] is not None else None
        if name is None or name in _VOID or name in _CLOSED_BY_SIBLINGS:
            continue
        if tag[1]:
            open_elements.close(name)
        elif name in _RAW_TEXT:
            position = _raw_text_end(body, name, position)
        elif open_elements.open(name) > limit:
            return True
    return False


class _OpenElements:
    """A stack of open elements that finds an end tag's element without walking the stack."""

    def __init__(self) -> None:
        self._names: list[bytes] = []
        self._where: dict[bytes, list[int]] = {}
        self._scopes: list[int] = []
        self._specials: list[int] = []

    def open(self, name: bytes) -> int:
        """Open `name`; returns the depth."""
        index = len(self._names)
        self._names.append(name)
        self._where.setdefault(name, []).append(index)
        for boundaries, kinds in ((self._scopes, _SCOPE), (self._specials, _SPECIAL)):
            if name in kinds:
                boundaries.append(index)
        return len(self._names)

    def close(self, name: bytes) -> None:
        """Close up to the innermost open `name`, unless a boundary lies above it."""
        found = self._where.get(name)
        if not found:
            return
        innermost = found[-1]
        boundaries = self._scopes if name in _SPECIAL else self._specials
        if boundaries and boundaries[-1] > innermost:
            return
        while len(self._names) > innermost:
            self._pop()

    def _pop(self) -> None:
        index = len(self._names) - 1
        self._where[self._names.pop()].pop()
        for boundaries in (self._scopes, self._specials):
            if boundaries and boundaries[-1] == index:
                boundaries.pop()


def _brackets_exceed(brackets: bytes, limit: int) -> bool:
    """Whether brackets nest deeper than `limit`; a closing bracket with nothing open is ignored."""
    if b"[" * (limit + 1) in brackets:
        return True
    rest = brackets
    for passes in range(1, _QUICK_PASSES + 1):
        rest = rest.replace(b"[]", b"")
        if not rest:
            return passes > limit
    return any(depth > limit for depth in accumulate(brackets, _step, initial=0))


def _step(depth: int, byte: int) -> int:
    return depth + 1 if byte == _OPENING else max(depth - 1, 0)


def _raw_text_end(body: bytes, name: bytes, position: int) -> int:
    """Where a script's (style's, …) text ends: at its end tag, or with the document."""
    end = re.compile(rb"</" + re.escape(name) + rb"[\s/>]", re.IGNORECASE).search(body, position)
    return end.start() if end else len(body)
