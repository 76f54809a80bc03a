"""Lenient JSON for JSON-LD blocks written by hand or by templates.

Strict `orjson` first; then, one step at a time until it parses: strip `<!-- -->` / CDATA wrappers;
drop comments and trailing commas and escape raw control characters inside strings; decode HTML
entities. Each step that was needed is reported as one human sentence.

Every step is a linear scan (regexes without nested repetition), so hostile input cannot make it slow,
and nothing here recurses (orjson itself refuses nesting deeper than 1024).
"""

from __future__ import annotations

import html
import re

import orjson

_WRAPPER = re.compile(r"^\s*(?://\s*)?(?:<!--|<!\[CDATA\[)|(?://\s*)?(?:-->|\]\]>)\s*$")
# One token at a time: a string (possibly unterminated, so a stray quote cannot cause rescans),
# a comment, or a comma whose next significant character closes an object or array.
_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"?|//[^\n]*|/\*.*?(?:\*/|\Z)|,(?=\s*[}\]])',
    re.DOTALL,
)
_CONTROL = re.compile(r"[\x00-\x1f]")
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")


class LenientJSONError(ValueError):
    """The text is not JSON even after every repair."""


def loads(source: str) -> tuple[object, list[str]]:
    """Parse `source`, returning the value and one sentence per repair that was needed."""
    repairs: list[str] = []
    for step in (_unwrap, _fix_tokens, _decode_entities):
        try:
            return orjson.loads(source), repairs
        except orjson.JSONDecodeError:
            source, done = step(source)
            repairs += done
    try:
        return orjson.loads(source), repairs
    except orjson.JSONDecodeError as error:
        raise LenientJSONError(f"not JSON even after repairs ({error})") from error


def _unwrap(source: str) -> tuple[str, list[str]]:
    unwrapped = _WRAPPER.sub("", source)
    return unwrapped, ["removed an HTML comment or CDATA wrapper"] if unwrapped != source else []


def _fix_tokens(source: str) -> tuple[str, list[str]]:
    found: set[str] = set()

    def fix(match: re.Match[str]) -> str:
        token = match[0]
        if token.startswith('"'):
            return _escape_controls(token, found)
        found.add("removed trailing commas" if token == "," else "removed comments")
        return ""

    # A second pass removes the commas that only became trailing once a comment was removed.
    return _TOKEN.sub(fix, _TOKEN.sub(fix, source)), sorted(found)


def _escape_controls(string: str, found: set[str]) -> str:
    if not _CONTROL.search(string):
        return string
    found.add("escaped raw control characters or newlines inside strings")
    return _CONTROL.sub(lambda m: f"\\u{ord(m[0]):04x}", string)


def _decode_entities(source: str) -> tuple[str, list[str]]:
    if not _ENTITY.search(source):
        return source, []
    # Only a block escaped as a whole (`{&quot;@type&quot;: …}`) gets here: entities inside the strings
    # of otherwise valid JSON parse strictly, and the builders decode them in text fields.
    return html.unescape(source), ["decoded HTML entities"]
