"""Entity declarations a feed may carry, and the ones that are refused before any XML parser runs.

An XML document may declare entities in its DOCTYPE. Declarations that refer to other entities can
multiply a few hundred bytes into gigabytes ("billion laughs"); external and parameter entities make a
parser read files or URLs (XXE). The parsers used here already refuse to load external entities, and
expat stops expansion past a ratio, but only after expanding megabytes through feedparser's handlers,
about two seconds of work per poll. No feed needs any of that, so such documents are refused at once.

Still allowed, as feeds do use them: declarations whose value is a single character reference
(`<!ENTITY nbsp "&#160;">`) or plain text, as long as all their uses together add less text than the
document holds.
"""

from __future__ import annotations

import re

# The internal subset's parts: whitespace, comments, processing instructions, parameter-entity references
# and markup declarations (quoted values may hold `>`). Group 1 is the body of an ENTITY declaration.
_SUBSET_PART = re.compile(
    rb"""\s++|<!--.*?-->|<\?.*?\?>|%[^;\s]*+;
    |<!ENTITY((?:[^>"']++|"[^"]*+"|'[^']*+')*+)>
    |<![A-Z]++(?:[^>"']++|"[^"]*+"|'[^']*+')*+>""",
    re.DOTALL | re.VERBOSE,
)
_PROLOG = re.compile(rb"(?:[^<]++|<!--.*?-->|<\?.*?\?>|<!(?!--)[^<]*+)*+", re.DOTALL)
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE\s[^\[>]*\[")
_ENTITY = re.compile(rb"""\s+(%\s+)?([^\s"'%]+)\s+(?:"([^"]*)"|'([^']*)'|(\S+))""")
_CHARACTER_REFERENCE = re.compile(rb"&#(?:[0-9]+|x[0-9a-fA-F]+);")


def unsafe_entities(body: bytes) -> str | None:
    """Why the document's entity declarations are refused, or None when it has none that matter."""
    if b"<!ENTITY" not in body:
        return None
    doctype = _DOCTYPE_SUBSET.search(body, 0, _first_element(body))
    if doctype is None:
        return None
    expansion = 0
    for declaration in _declarations(body, doctype.end()):
        problem, added = _judge(declaration, body)
        if problem is not None:
            return problem
        expansion += added
    if expansion > len(body):
        return "its entities would expand to more text than the document holds"
    return None


def _first_element(body: bytes) -> int:
    """Where the first element may start (a DOCTYPE comes before it), past comments that mention tags."""
    prolog = _PROLOG.match(body)
    return prolog.end() if prolog else 0


def _declarations(body: bytes, position: int) -> list[bytes]:
    """The bodies of the ENTITY declarations in the internal subset starting at `position`."""
    found = []
    while (part := _SUBSET_PART.match(body, position)) is not None and part.end() > position:
        if part[1] is not None:
            found.append(part[1])
        position = part.end()
    return found


def _judge(declaration: bytes, body: bytes) -> tuple[str | None, int]:
    """(why it is refused, or None; how much text its uses add)."""
    entity = _ENTITY.match(declaration)
    if entity is None:
        return "it declares an entity that cannot be read", 0
    parameter, name, double, single, other = entity.groups()
    shown = name.decode("utf-8", "replace")[:40]
    if parameter is not None:
        return f"it declares a parameter entity ({shown})", 0
    if other is not None:
        return f"it declares an external entity ({shown}), which would read a file or a URL", 0
    value = double if double is not None else single
    if (b"&" in value or b"%" in value) and not _CHARACTER_REFERENCE.fullmatch(value):
        return f"it declares an entity made of other entities ({shown})", 0
    return None, len(value) * body.count(b"&" + name + b";")
