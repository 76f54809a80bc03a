"""Entity expansion and external entities: refused up front, and inert in every XML parser underneath."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.adapters import _plain_rss, jsonld, parse, syndication
from feeds.adapters._xml_entities import unsafe_entities
from feeds.errors import InvalidDocumentError

BASE = "https://feeds.example/live.xml"
SECRET = "the-secret-that-must-not-leak"


def feed(doctype: str, title: str) -> bytes:
    item = f"<item><guid>1</guid><title>{title}</title><description>{title}</description></item>"
    return f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel>{item}</channel></rss>'.encode()


def laughs(separator: str) -> str:
    """Ten levels of ten references: 10^10 characters once expanded."""
    declarations = ['<!ENTITY l0 "lollollollol">']
    declarations += [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 11)]
    return f"<!DOCTYPE rss [{separator.join(declarations)}]>"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def hostile(secret_file: Path) -> dict[str, bytes]:
    url = secret_file.as_uri()
    dtd = secret_file.with_suffix(".dtd")
    dtd.write_text(f'<!ENTITY leak SYSTEM "{url}">')
    return {
        "billion laughs": feed(laughs(""), "&l10;"),
        "billion laughs, one per line": feed(laughs("\n"), "&l10;"),
        "quadratic blowup": feed(f'<!DOCTYPE rss [<!ENTITY a "{"x" * 50_000}">]>', "&a;" * 2_000),
        "external entity": feed(f'<!DOCTYPE rss [<!ENTITY leak SYSTEM "{url}">]>', "&leak;"),
        "public external entity": feed(f'<!DOCTYPE rss [<!ENTITY leak PUBLIC "-//X//Y" "{url}">]>', "&leak;"),
        "parameter entity": feed(f'<!DOCTYPE rss [<!ENTITY % dtd SYSTEM "{dtd.as_uri()}"> %dtd;]>', "&leak;"),
    }


CASES = [
    "billion laughs",
    "billion laughs, one per line",
    "quadratic blowup",
    "external entity",
    "public external entity",
    "parameter entity",
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("adapter", ["auto", "syndication"])
def test_hostile_declarations_are_refused_at_once(secret_file: Path, case: str, adapter: str) -> None:
    with pytest.raises(
        InvalidDocumentError, match=r"refused unread: (it declares|its entities would expand)"
    ) as raised:
        parse(hostile(secret_file)[case], BASE, adapter=adapter)

    assert SECRET not in str(raised.value)


@pytest.mark.parametrize("case", CASES)
def test_feedparser_itself_neither_expands_nor_loads_them(secret_file: Path, case: str) -> None:
    # Beneath the refusal: what feedparser (expat, external entities off) makes of the same bytes.
    parsed = syndication._feedparser(hostile(secret_file)[case], BASE, syndication.DEFAULT_LIMITS)

    text = repr(parsed)
    assert SECRET not in text
    assert "lollollol" * 100 not in text and "x" * 100_000 not in text


@pytest.mark.parametrize("case", CASES)
def test_the_fast_reader_declines_any_doctype(secret_file: Path, case: str) -> None:
    assert _plain_rss.read(hostile(secret_file)[case], BASE) is None


def test_an_external_dtd_is_not_read(secret_file: Path) -> None:
    dtd = secret_file.with_suffix(".dtd")
    dtd.write_text(f'<!ENTITY leak "{SECRET}">')
    body = feed(f'<!DOCTYPE rss SYSTEM "{dtd.as_uri()}">', "before &leak; after")

    snapshot = syndication.parse(body, BASE)

    assert SECRET not in repr(snapshot)


def test_html_pages_do_not_declare_entities(secret_file: Path) -> None:
    script = '{"@type": "LiveBlogPosting", "liveBlogUpdate": [{"url": "/1", "headline": "a &leak; b"}]}'
    page = (
        f'<!DOCTYPE html [<!ENTITY leak SYSTEM "{secret_file.as_uri()}">]>'
        f'<html><head><script type="application/ld+json">{script}</script></head></html>'
    ).encode()

    (update,) = jsonld.parse(page, BASE).updates

    assert update.title == "a &leak; b"


@pytest.mark.parametrize(
    ("doctype", "title", "read"),
    [
        ('<!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>', "a&nbsp;b", "a\xa0b"),
        # feedparser keeps only declarations on lines of their own: the reference stays as text.
        ('<!DOCTYPE rss [<!ENTITY org "Example News">]>', "&org; live", "&org; live"),
        (
            '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
            '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
            "Netscape",
            "Netscape",
        ),
    ],
    ids=["character reference", "plain text", "a public DTD"],
)
def test_harmless_declarations_still_read(doctype: str, title: str, read: str) -> None:
    (update,) = syndication.parse(feed(doctype, title), BASE).updates

    assert update.title == read


@pytest.mark.parametrize(
    "body",
    [
        b"<rss><channel><title>no doctype</title></channel></rss>",
        b"<rss><description><![CDATA[<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]>]]></description></rss>",
        b"<!-- <b>bold</b> --><!DOCTYPE rss [<!ENTITY nbsp '&#160;'>]><rss/>",
    ],
    ids=["no doctype", "a declaration quoted in the text", "a comment before the doctype"],
)
def test_documents_without_hostile_declarations_pass(body: bytes) -> None:
    assert unsafe_entities(body) is None


def test_a_comment_before_the_doctype_does_not_hide_it() -> None:
    body = b"<!-- <b>bold</b> --><!DOCTYPE rss [<!ENTITY a 'x'><!ENTITY b '&a;&a;'>]><rss/>"

    assert unsafe_entities(body) == "it declares an entity made of other entities (b)"


def test_a_value_holding_markup_does_not_end_the_declarations_early() -> None:
    body = b"<!DOCTYPE rss [<!ENTITY a 'x]> <b>'><!ENTITY leak SYSTEM 'file:///etc/passwd'>]><rss/>"

    assert unsafe_entities(body) == "it declares an external entity (leak), which would read a file or a URL"
