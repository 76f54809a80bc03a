"""UTF-16 and UTF-32 documents recognised from their first bytes and rewritten as UTF-8."""

from __future__ import annotations

import pytest

from feeds.adapters._encoding import as_utf8, wide_codec

RSS = (
    '<?xml version="1.0" encoding="{}"?>\n<rss version="2.0"><channel><title>Über 😀</title></channel></rss>'
)
# (codec, byte order mark) for every wide encoding, with and without its mark.
WIDE = [
    ("utf-16-le", b"\xff\xfe"),
    ("utf-16-be", b"\xfe\xff"),
    ("utf-32-le", b"\xff\xfe\x00\x00"),
    ("utf-32-be", b"\x00\x00\xfe\xff"),
    ("utf-16-le", b""),
    ("utf-16-be", b""),
    ("utf-32-le", b""),
    ("utf-32-be", b""),
]


@pytest.mark.parametrize(("codec", "mark"), WIDE)
@pytest.mark.parametrize("start", ["<?xml", "<rss", " \n<rss", '{"items"', "[{"])
def test_wide_encodings_are_told_by_their_first_bytes(codec: str, mark: bytes, start: str) -> None:
    assert wide_codec(mark + start.encode(codec)) == (codec, len(mark))


@pytest.mark.parametrize(
    "head",
    [b"<?xml", b"\xef\xbb\xbf<rss", b"{}", b"\x00\x01\x02\x03", b"\x00" * 8, b"<\x00", b"\x00\x00\x00\x01"],
)
def test_other_bytes_are_not_wide(head: bytes) -> None:
    assert wide_codec(head) is None


def test_utf8_is_returned_as_it_is() -> None:
    body = RSS.format("utf-8").encode()

    assert as_utf8(body) is body


@pytest.mark.parametrize(("codec", "mark"), WIDE)
@pytest.mark.parametrize("declared", ["UTF-16", "utf-8", "ISO-8859-1"])
def test_wide_documents_become_utf8_and_say_so(codec: str, mark: bytes, declared: str) -> None:
    # The bytes decide: a declaration naming another encoding is wrong, and is corrected.
    body = mark + RSS.format(declared).encode(codec)

    assert as_utf8(body) == RSS.format("utf-8").encode()


def test_a_document_without_declaration_gets_none() -> None:
    body = "<rss><title>é</title></rss>".encode("utf-16-le")

    assert as_utf8(body) == "<rss><title>é</title></rss>".encode()


def test_a_cut_code_unit_becomes_a_replacement_character() -> None:
    body = "<rss>é</rss>".encode("utf-16-be")[:-1]

    assert as_utf8(body) == "<rss>é</rss\ufffd".encode()
