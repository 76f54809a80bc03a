"""Generated live blogs in each syndication format, with every field the `syndication` adapter reads (ids,
times, titles, summaries, bodies, links, authors, tags, enclosures and media): the documents of
bench/feedparsers.py and of the syndication rows of bench/ingest.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

BASE = "https://news.example/live/election"
START = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)


def _body(i: int) -> str:
    return (
        "<p>Polls have closed and the first <strong>results</strong> are in. Queues in "
        "<a href='/live/queues'>several districts</a>.</p>" * 4 + f"<ul><li>Update number {i}</li></ul>"
    )


def _when(i: int) -> datetime:
    return START + timedelta(seconds=7 * i)


def rss_doc(n: int) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='false'>post-{i}</guid><link>https://news.example/live/{i}</link>"
        f"<title>Update {i}</title><pubDate>{_when(i):%a, %d %b %Y %H:%M:%S} GMT</pubDate>"
        f"<dc:creator>Reporter {i % 7}</dc:creator>"
        f"<category>politics</category><category>tag{i % 5}</category>"
        f"<description>Summary {i}</description><content:encoded><![CDATA[{_body(i)}]]></content:encoded>"
        f"<enclosure url='https://cdn.example/{i}.jpg' length='100' type='image/jpeg'/>"
        f"<media:thumbnail url='https://cdn.example/t{i}.jpg'/></item>"
        for i in range(n)
    )
    namespaces = (
        "xmlns:dc='http://purl.org/dc/elements/1.1/' "
        "xmlns:content='http://purl.org/rss/1.0/modules/content/' "
        "xmlns:media='http://search.yahoo.com/mrss/'"
    )
    channel = f"<channel><title>Live</title><link>{BASE}</link>{items}</channel>"
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0' {namespaces}>{channel}</rss>".encode()


def atom_doc(n: int) -> bytes:
    entries = "".join(
        f"<entry><id>tag:news.example,2026:{i}</id><link rel='alternate' href='/live/{i}'/>"
        f"<link rel='enclosure' href='https://cdn.example/{i}.mp3' type='audio/mpeg' length='9'/>"
        f"<title>Update {i}</title><published>{_when(i).isoformat()}</published>"
        f"<updated>{(_when(i) + timedelta(minutes=1)).isoformat()}</updated>"
        f"<author><name>Reporter {i % 7}</name></author><category term='politics'/>"
        f"<summary>Summary {i}</summary><content type='html'><![CDATA[{_body(i)}]]></content></entry>"
        for i in range(n)
    )
    feed = f"<title>Live</title><link href='{BASE}'/><id>tag:news.example,2026:live</id>{entries}"
    return f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>{feed}</feed>".encode()


def rdf_doc(n: int) -> bytes:
    items = "".join(
        f"<item rdf:about='https://news.example/live/{i}'><title>Update {i}</title>"
        f"<link>https://news.example/live/{i}</link><dc:date>{_when(i).isoformat()}</dc:date>"
        f"<dc:creator>Reporter {i % 7}</dc:creator><dc:subject>politics</dc:subject>"
        f"<description><![CDATA[{_body(i)}]]></description></item>"
        for i in range(n)
    )
    namespaces = (
        "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' xmlns='http://purl.org/rss/1.0/' "
        "xmlns:dc='http://purl.org/dc/elements/1.1/'"
    )
    channel = f"<channel rdf:about='{BASE}'><title>Live</title><link>{BASE}</link></channel>"
    return f"<?xml version='1.0' encoding='utf-8'?><rdf:RDF {namespaces}>{channel}{items}</rdf:RDF>".encode()


def json_doc(n: int) -> bytes:
    items = [
        {
            "id": f"post-{i}",
            "url": f"https://news.example/live/{i}",
            "title": f"Update {i}",
            "date_published": _when(i).isoformat(),
            "authors": [{"name": f"Reporter {i % 7}"}],
            "tags": ["politics"],
            "summary": f"Summary {i}",
            "content_html": _body(i),
            "attachments": [{"url": f"https://cdn.example/{i}.mp3", "mime_type": "audio/mpeg"}],
        }
        for i in range(n)
    ]
    return orjson.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Live", "items": items})


GENERATED: dict[str, Callable[[int], bytes]] = {
    "RSS 2.0": rss_doc,
    "Atom 1.0": atom_doc,
    "RSS 1.0 (RDF)": rdf_doc,
    "JSON Feed 1.1": json_doc,
}
