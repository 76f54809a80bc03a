"""The size a feed declares for a medium (`Media.size`), in each place feeds declare one; 0 and anything
but a whole number read as unknown (RSS requires `length`, so feeds write 0 when they do not know)."""

from __future__ import annotations

import orjson
import pytest

from feeds.adapters import syndication

PUBLISHED = "Wed, 01 May 2024 12:00:00 GMT"


def _rss(enclosure: str) -> bytes:
    item = f"<item><guid>1</guid><title>a</title><pubDate>{PUBLISHED}</pubDate>{enclosure}</item>"
    channel = f"<channel><title>t</title><link>https://x.example/</link>{item}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">{channel}</rss>'.encode()


def _sizes(body: bytes) -> list[int | None]:
    (update,) = syndication.parse(body, "https://x.example/").updates
    return [media.size for media in update.media]


@pytest.mark.parametrize(
    ("length", "size"), [("12345", 12345), ("0", None), ("", None), ("12 MB", None), (" 7 ", 7), ("-1", None)]
)
def test_an_rss_enclosure_length(length: str, size: int | None) -> None:
    enclosure = f'<enclosure url="https://m.example/a.mp3" length="{length}" type="audio/mpeg"/>'
    assert _sizes(_rss(enclosure)) == [size]


def test_a_media_rss_file_size() -> None:
    assert _sizes(
        _rss('<media:content url="https://m.example/e.jpg" fileSize="777" type="image/jpeg"/>')
    ) == [777]


def test_an_atom_enclosure_length() -> None:
    entry = (
        "<entry><id>e1</id><title>a</title><updated>2024-05-01T12:00:00Z</updated>"
        '<link rel="enclosure" href="https://m.example/c.mp4" length="999" type="video/mp4"/></entry>'
    )
    feed = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>x</id>{entry}</feed>'
    assert _sizes(feed.encode()) == [999]


@pytest.mark.parametrize(
    ("declared", "size"), [(4242, 4242), ("4242", 4242), (0, None), (True, None), (1.5, None)]
)
def test_a_json_feed_attachment_size(declared: object, size: int | None) -> None:
    attachment = {"url": "https://m.example/d.pdf", "mime_type": "application/pdf", "size_in_bytes": declared}
    item = {
        "id": "1",
        "content_text": "x",
        "date_published": "2024-05-01T12:00:00Z",
        "attachments": [attachment],
    }
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [item]}
    assert _sizes(orjson.dumps(feed)) == [size]
