"""UTF-16 and UTF-32 documents, recognised from their first bytes and rewritten as UTF-8.

XML says how to tell a document's encoding family before reading its declaration (XML 1.0, appendix F):
a byte order mark, or the pattern of zero bytes around the first characters, which are ASCII (`<`,
whitespace, or `{` and `[` for JSON). The readers downstream (expat through ElementTree or feedparser,
orjson, the JSON-LD page reader) either want UTF-8 or guess worse: feedparser misreads UTF-16 without a
mark unless its declaration starts the document, and trusts a declaration that names the wrong
encoding. So wide documents are decoded here once, and an XML declaration's `encoding` is set to match.
EBCDIC is left alone: no feed or API we know of uses it.
"""

from __future__ import annotations

import re

_MARKS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),  # before UTF-16 LE, whose mark it starts with
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_ASCII_TEXT = frozenset(b"\t\n\r" + bytes(range(0x20, 0x7F)))
_ENCODING_ATTRIBUTE = re.compile(r"""\A(\s*<\?xml\b[^>]*?\bencoding\s*=\s*)(["'])[^"'>]*\2""")


def wide_codec(head: bytes) -> tuple[str, int] | None:
    """The codec of a UTF-16 or UTF-32 document and the length of its byte order mark, else None."""
    for mark, codec in _MARKS:
        if head.startswith(mark):
            return codec, len(mark)
    unmarked = _unmarked_codec(head[:4])
    return (unmarked, 0) if unmarked else None


def as_utf8(body: bytes) -> bytes:
    """`body` as UTF-8: unchanged unless it is UTF-16 or UTF-32. Undecodable units become U+FFFD."""
    found = wide_codec(body)
    if found is None:
        return body
    codec, mark = found
    text = body[mark:].decode(codec, "replace")
    return _ENCODING_ATTRIBUTE.sub(r'\1"utf-8"', text, count=1).encode()


def _unmarked_codec(first: bytes) -> str | None:
    """The family whose zero bytes surround the first ASCII characters, as the appendix's table lays out."""
    if len(first) < 4:
        return None
    zero = [byte == 0 for byte in first]
    text = [byte in _ASCII_TEXT for byte in first]
    if zero == [True, True, True, False] and text[3]:
        return "utf-32-be"
    if zero == [False, True, True, True] and text[0]:
        return "utf-32-le"
    if zero == [True, False, True, False] and text[1] and text[3]:
        return "utf-16-be"
    if zero == [False, True, False, True] and text[0] and text[2]:
        return "utf-16-le"
    return None
