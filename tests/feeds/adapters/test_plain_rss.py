"""The plain RSS 2.0 reader against feedparser: wherever the reader accepts a feed, the snapshots match."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from feeds.adapters import _plain_rss, syndication
from feeds.errors import ParseError
from feeds.types import ParsedSnapshot

BASES = ["https://feeds.example/live/feed.xml", "http://news.example/", "https://feeds.example/a b", ""]
NAMESPACES = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
)

Outcome = ParsedSnapshot | tuple[str, str]


def read_both(body: bytes, base_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Outcome, Outcome]:
    """The adapter's result with the plain reader, and with feedparser alone."""
    fast = outcome(body, base_url)
    with monkeypatch.context() as patch:
        patch.setattr(_plain_rss, "read", lambda body, base_url: None)
        return fast, outcome(body, base_url)


def outcome(body: bytes, base_url: str) -> Outcome:
    try:
        return syndication.parse(body, base_url)
    except ParseError as error:
        return type(error).__name__, str(error)


def rss(items: str, *, channel: str = "<title>Live</title>", namespaces: str = NAMESPACES) -> bytes:
    document = f'<rss version="2.0" {namespaces}><channel>{channel}{items}</channel></rss>'
    return f'<?xml version="1.0"?>{document}'.encode()


# --- the reader gives feedparser's snapshot ---------------------------------------------------------


def test_every_fixture_feed_reads_the_same(fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accepted = []
    for path in sorted(fixtures_dir.glob("*.xml")):
        for base in BASES:
            fast, slow = read_both(path.read_bytes(), base, monkeypatch)
            assert fast == slow, (path.name, base)
            if _plain_rss.read(path.read_bytes(), base) is not None:
                accepted.append(path.name)

    assert "rss_bbc_urdu_cdata_rtl.xml" in accepted  # real RSS 2.0 takes the fast path
    assert not any(name.startswith(("atom_", "malformed_")) for name in accepted)


def test_a_full_featured_item_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    item = (
        "<item><title> Goal! </title><link>/live/1</link><guid isPermaLink='false'>urn:x:1</guid>"
        "<pubDate>Tue, 14 Nov 2023 22:13:20 GMT</pubDate><description>Short</description>"
        "<content:encoded><![CDATA[<p>Long <b>body</b></p>]]></content:encoded>"
        "<dc:creator>Ann</dc:creator><dc:creator>Bob</dc:creator><category>sport</category>"
        "<category>sport</category><comments>/live/1#comments</comments><slash:comments>3</slash:comments>"
        '<enclosure url="https://media.example/a.mp3" length="1" type="Audio/MPEG"/>'
        '<media:thumbnail url="https://img.example/t.jpg" width="60"/>'
        '<media:content url="https://img.example/c.jpg" medium="image"/></item>'
        "<item><guid>urn:x:2</guid><description/><content:encoded>Only a body</content:encoded></item>"
    )
    channel = (
        "<title>Live</title><link>https://news.example/live</link><description>d</description>"
        '<atom:link rel="self" href="https://news.example/feed"/><ttl>5</ttl>'
        "<image><url>https://news.example/logo.png</url><title>Logo</title><link>https://x.example/</link></image>"
    )
    body = rss(item, channel=channel)
    assert _plain_rss.read(body, BASES[0]) is not None

    fast, slow = read_both(body, BASES[0], monkeypatch)

    assert fast == slow
    assert isinstance(fast, ParsedSnapshot) and fast.updates[0].authors == ("Ann", "Bob")


def test_generated_feeds_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = random.Random(20261103)
    accepted = 0
    for _ in range(300):
        body, base = generated_feed(generator), generator.choice(BASES)
        accepted += _plain_rss.read(body, base) is not None
        fast, slow = read_both(body, base, monkeypatch)
        assert fast == slow, (base, body)

    assert accepted > 60  # enough of them take the fast path for the comparison to mean something


# --- and declines what it does not reproduce -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        rss("<item><title>Ã©tÃ©</title></item>"),  # feedparser re-decodes Latin-1 that is valid UTF-8
        rss("<item><title>a \u0085 b</title></item>"),  # and maps C1 characters to cp1252
        rss("<item><title>&#150;</title></item>"),
        rss("<item><link>https://x.example/?a=1&amp;amp;b=2</link></item>"),  # and fixes `&amp;` in links
        rss("<item><link>http:///x.example/a</link></item>"),  # and drops slashes after `scheme://`
        rss("<item><author>ann@example.com (Ann)</author></item>"),  # and splits off e-mail addresses
        rss("<item><pubDate>the day before yesterday</pubDate></item>"),  # and has more date parsers
        rss('<item><description type="text">a</description></item>'),
        rss("<item><title><b>markup</b></title></item>"),
        rss("<item><media:thumbnail>/t.jpg</media:thumbnail></item>"),  # a URL feedparser would resolve
        rss("<item><dc:date>2024-05-01</dc:date></item>"),
        rss("<item><itunes:summary>s</itunes:summary></item>", namespaces='xmlns:itunes="urn:itunes"'),
        rss("<item><title>x</title><title>y</title></item>"),
        rss("", channel='<atom:link rel="alternate" href="https://x.example/"/>'),
        rss("", namespaces='xmlns:content="http://purl.org/dc/elements/1.1/"'),
        rss("", namespaces='xmlns="http://backend.userland.com/rss2"'),
        b'<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel/></rss>',
        b'<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel/></rss>',
        b'<rss version="2.0" xml:base="https://other.example/"><channel/></rss>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title></feed>',
        b"<rss><channel><item><title>unclosed</item></channel></rss>",
    ],
)
def test_documents_outside_the_subset_are_left_to_feedparser(body: bytes) -> None:
    assert _plain_rss.read(body, BASES[0]) is None


def test_a_deep_document_is_declined_before_it_is_read_whole() -> None:
    body = rss("<item><title>" + "<b>" * 3_000_000)

    assert _plain_rss.read(body, BASES[0]) is None


def test_a_base_url_feedparser_would_rewrite_is_left_to_feedparser() -> None:
    assert _plain_rss.read(rss(""), "https://news.example/a?") is None
    assert _plain_rss.read(rss(""), "") is None


# --- generated feeds -----------------------------------------------------------------------------------

TEXTS = ["Plain", "  padded  ", "", "<![CDATA[<p>Body <b>bold</b></p>]]>", "a &amp; b", "été", "پاکستان"]
TEXTS += ["x&#8217;s", "a\r\nb\tc", "<!-- c -->x", "<![CDATA[ ]]>"]
ODD_TEXTS = ["Ã©tÃ©", "\u0085", "&#150;", "ann@example.com", "yesterday", "&amp;amp;", "€ Ã©", "x<?pi y?>z"]
URLS = ["https://x.example/a", "/relative", "rel", "urn:uuid:1", "http://x.example/a?b=1&amp;c=2"]
URLS += ["//cdn.example/x"]
ODD_URLS = ["http:///x.example/a", "https://[bad/", "https://x.example/a?", "HTTPS://X.EXAMPLE/A", "é/../Ã©"]
ODD_URLS += [""]
DATES = ["Tue, 14 Nov 2023 22:13:20 GMT", "2024-05-01T10:00:00+02:00", "Tue, 14 Nov 2023 12:00:00", ""]
ITEM_TAGS = ["title", "link", "guid", "description", "content:encoded", "pubDate", "author", "dc:creator"]
ITEM_TAGS += ["category", "comments", "enclosure", "media:thumbnail", "media:content", "slash:comments"]
ODD_ITEM_TAGS = ["dc:date", "source", "date", "Title", "media:title"]
ONCE = {"title", "link", "guid", "description", "content:encoded", "pubDate"}


def generated_feed(generator: random.Random) -> bytes:
    """An RSS document mixing constructs the reader accepts with odd ones (none in 2 of 5 documents)."""
    odd = generator.choice([0.0, 0.0, 0.02, 0.1, 0.3])  # the share of odd picks
    feed = _Generated(generator, odd)
    channel = "".join(feed.channel_child() for _ in range(generator.randint(0, 4)))
    items = "".join(feed.item() for _ in range(generator.randint(0, 4)))
    namespaces = NAMESPACES if generator.random() >= odd else 'xmlns:media="http://search.yahoo.com/mrss/"'
    prolog = generator.choice(['<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-8"?>\n', ""])
    text = f'{prolog}<rss version="2.0" {namespaces}><channel>{channel}{items}</channel></rss>'
    return text[: generator.randint(0, len(text))].encode() if generator.random() < odd / 3 else text.encode()


class _Generated:
    """Picks the usual or, with probability `odd`, an odd construct: invalid, unknown or declined."""

    def __init__(self, generator: random.Random, odd: float) -> None:
        self.random, self.odd = generator, odd

    def pick(self, usual: list[str], odd: list[str]) -> str:
        return self.random.choice(odd if self.random.random() < self.odd else usual)

    def channel_child(self) -> str:
        kind = self.random.choice(["title", "link", "description", "ttl", "image", "atom:link", "item"])
        if kind == "image":
            url, title = self.pick(URLS, ODD_URLS), self.pick(TEXTS, ODD_TEXTS)
            return f"<image><url>{url}</url><title>{title}</title></image>"
        if kind == "atom:link":
            return f'<atom:link rel="{self.pick(["self"], ["alternate", ""])}" href="https://x.example/f"/>'
        if kind == "item":
            return self.item()
        return f"<{kind}>{self.pick(URLS if kind == 'link' else TEXTS, ODD_URLS + ODD_TEXTS)}</{kind}>"

    def item(self) -> str:
        tags = [self.pick(ITEM_TAGS, ODD_ITEM_TAGS) for _ in range(self.random.randint(0, 7))]
        if self.random.random() >= self.odd:
            tags = [t for n, t in enumerate(tags) if t not in ONCE or t not in tags[:n]]
        return f"<item>{''.join(map(self.child, tags))}</item>"

    def child(self, tag: str) -> str:
        if tag in ("enclosure", "media:thumbnail", "media:content"):
            url = self.pick(["https://img.example/a.jpg"], ODD_URLS)
            kind = self.pick(["image/JPEG", "audio/mpeg"], ["", "x"])
            typed = "" if tag == "media:thumbnail" else f' type="{kind}"'
            return f'<{tag} url="{url}"{typed}/>'
        if tag == "guid":
            permalink = self.pick(["true", "false"], ["False", ""])
            return f'<guid isPermaLink="{permalink}">{self.pick(URLS, ODD_URLS)}</guid>'
        values = DATES if tag == "pubDate" else URLS if tag in ("link", "comments") else TEXTS
        return f"<{tag}>{self.pick(values, ODD_TEXTS + ODD_URLS)}</{tag}>"
