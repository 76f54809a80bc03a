"""Nesting depth: exact at the limit, tolerant of sloppy pages, linear on hostile input."""

from __future__ import annotations

import pytest

from feeds.adapters._nesting import html_exceeds, json_exceeds, xml_exceeds

LIMIT = 10


def nested_json(levels: int) -> bytes:
    """`levels` containers deep, alternating objects and arrays, with an empty sibling at every level."""
    body = b"[]"
    for level in range(1, levels):
        body = b'{"a": %s, "b": {}}' % body if level % 2 else b'[%s, "x", []]' % body
    return body


@pytest.mark.parametrize(("levels", "exceeds"), [(LIMIT - 1, False), (LIMIT, False), (LIMIT + 1, True)])
def test_json_depth_is_exact_at_the_limit(levels: int, exceeds: bool) -> None:
    assert json_exceeds(nested_json(levels), LIMIT) is exceeds


def test_json_deeper_than_the_quick_passes_is_counted_exactly() -> None:
    assert json_exceeds(nested_json(40), 40) is False
    assert json_exceeds(nested_json(41), 40) is True


def test_json_brackets_in_strings_count_too() -> None:
    # The documented approximation: real text never holds a hundred unclosed brackets.
    assert json_exceeds(b'["' + b"[" * LIMIT + b'"]', LIMIT) is True
    assert json_exceeds(b'["' + b"[]" * 1000 + b'"]', LIMIT) is False


def test_json_hostile_depth_is_found() -> None:
    assert json_exceeds(b"[" * 5_000_000 + b"]" * 5_000_000, 128) is True
    assert json_exceeds(b"[[]" * 1_000_000 + b"]" * 1_000_000, 128) is True


def nested_xml(levels: int) -> bytes:
    return b"<a x='>'>" * levels + b"<empty/>" + b"</a>" * levels


@pytest.mark.parametrize(("levels", "exceeds"), [(LIMIT, False), (LIMIT + 1, True)])
def test_xml_depth_is_exact_at_the_limit(levels: int, exceeds: bool) -> None:
    siblings = b"<b>text</b><c/>" * 50

    assert xml_exceeds(siblings + nested_xml(levels) + siblings, LIMIT) is exceeds


@pytest.mark.parametrize(
    "hidden",
    [b"<!--%s-->", b"<![CDATA[%s]]>", b"<?pi %s?>", b"<x title='%s'/>"],
    ids=["comment", "cdata", "processing instruction", "attribute"],
)
def test_xml_markup_that_opens_no_element_is_not_counted(hidden: bytes) -> None:
    assert xml_exceeds(b"<rss>" + hidden % (b"<a>" * 50) + b"</rss>", LIMIT) is False


def test_xml_unclosed_elements_count_until_the_end() -> None:
    assert xml_exceeds(b"<rss>" + b"<item>" * LIMIT, LIMIT) is True  # ill-formed, still deep


@pytest.mark.parametrize(
    ("page", "exceeds"),
    [
        (b"<div>" * (LIMIT + 1), True),
        (b"<DIV class='a>b'>" * (LIMIT + 1), True),
        (b"<div/>" * (LIMIT + 1), True),  # HTML ignores the slash: each div stays open
        (b"<div>" * LIMIT + b"<br><img src=x><p><li><td>" * 100, False),  # void, or closed by siblings
        (b"<p>" * 1000, False),
        (b"<div><span></div>" * 1000, False),  # the end tag closes the span left open
        (b"<span><div></span>" * LIMIT, True),  # a phrasing end tag does not close past the div
        (b"<div><table></div>" * LIMIT, True),  # nor does a div's end tag close past a table
        (b"<script>" + b"<div>" * 100 + b"</script>", False),
        (b"<STYLE>" + b"<div>" * 100 + b"</style >", False),
        (b"<title>" + b"<div>" * 100, False),  # an unclosed title swallows the rest as text
        (b"<!-- " + b"<div>" * 100 + b" -->", False),
        # What XML reads as a CDATA section or a processing instruction, HTML ends at the first `>`,
        (b"<![CDATA[" + b"<div>" * 100, True),
        (b"<?php " + b"<div>" * 100, True),
        (b"<!-->" + b"<div>" * 100, True),  # and this comment is already closed.
        (b'<div a=b">' * (LIMIT + 1), True),  # a quote inside an unquoted value starts nothing
    ],
)
def test_html_depth_follows_how_browsers_nest(page: bytes, exceeds: bool) -> None:
    assert html_exceeds(b"<!doctype html><html><body>" + page, LIMIT) is exceeds


@pytest.mark.parametrize(
    "body",
    [
        b'<a x="' * 500_000,  # quotes that never close
        b"<a" * 1_000_000,  # tags that never end
        b"<!--" * 500_000,
        b"<![CDATA[" * 250_000,
        b"<div>" + b"</nothing>" * 250_000,
    ],
    ids=["quotes", "tags", "comments", "cdata", "unmatched end tags"],
)
def test_hostile_markup_that_never_nests_is_not_deep(body: bytes) -> None:
    # Unclosed quotes, tags, comments and sections open nothing: the scans skip them to the end (how
    # long that takes is bench.hostile's business, not a test's).
    assert xml_exceeds(body, 128) is False
    assert html_exceeds(body, 128) is False
