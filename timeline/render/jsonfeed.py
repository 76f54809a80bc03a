"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1) re-syndication of a timeline.

Item ids are our event ids as they are (`ev_…`): JSON Feed asks only for a unique, stable string, and
integrators can use them with the REST API. `title` appears only when the update has one, as the spec
suggests for microblog-like items. Tags are the upstream tags only; our flags, revision and seq live in
the `_liveblog_timeline` extension object, where readers that do not know it ignore them. Optional
fields without a value are left out rather than set to null.

Strings are serialized as they are: normalize removes lone surrogates (which orjson refuses) before
an event can be stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from timeline.models import Event, Timeline, Tombstone, rfc3339
from timeline.render._common import shown, with_note_html, with_note_text

__all__ = ["EXTENSION", "VERSION", "json_feed"]

VERSION = "https://jsonfeed.org/version/1.1"
EXTENSION = "_liveblog_timeline"


def json_feed(
    timeline: Timeline, events: Sequence[Event | Tombstone], *, feed_url: str, home_page_url: str | None
) -> bytes:
    """The JSON Feed document of `events`, newest first, tombstones left out.

    An ended timeline is marked `expired`: the spec's word for a feed that will not update again.
    """
    feed = {
        "version": VERSION,
        "title": timeline.title,
        "home_page_url": home_page_url,
        "feed_url": feed_url,
        "expired": True if timeline.status == "ended" else None,
        "items": [_item(event) for event in shown(events, newest_first=True)],
    }
    return orjson.dumps(_present(feed))


def _item(event: Event) -> dict[str, Any]:
    item = {
        "id": event.id,
        "url": event.url,
        "title": event.title,
        "summary": event.summary,
        "content_html": with_note_html(event),
        "content_text": with_note_text(event) or None,
        "image": _image(event),
        "date_published": rfc3339(event.published_at),
        "date_modified": rfc3339(event.updated_at) if event.updated_at else None,
        "authors": [{"name": name} for name in event.authors] or None,
        "tags": list(event.tags) or None,
        EXTENSION: _extension(event),
    }
    return _present(item)


def _extension(event: Event) -> dict[str, Any]:
    return _present(
        {
            "key_event": event.key_event,
            "pinned": event.pinned,
            "revision": event.revision,
            "seq": event.seq,
            "note": event.note,  # the editors' note, plain text (also at the head of the content)
        }
    )


def _image(event: Event) -> str | None:
    """The first image attached to the update: JSON Feed's `image` is the item's main image."""
    images = (media.url for media in event.media if (media.kind or "").startswith("image"))
    return next(images, None)


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
