"""Atom 1.0 (RFC 4287) re-syndication of a timeline.

Ids are URNs built from our own ids, e.g. `urn:liveblog-timeline:event:ev_…`. They survive edits, slug
renames and a move of the service to another host, and an integrator can map an entry back to the REST
API's event id. (A `tag:` URI needs a domain we own; `urn:uuid:` would hide the event id.)

The feed's `link rel="alternate"` is the caller's (the API gives the timeline's embed page). Media are
enclosures, typed when their kind is a MIME type, with the `length` RFC 4287 §4.2.7.6 asks enclosures to
carry (SHOULD) when the source declared a size: an advisory number of octets, left out when unknown rather
than guessed (fetching every medium to measure it is not a renderer's business).

Every entry inherits the feed-level author, named after the timeline, unless it has authors of its
own: RFC 4287 §4.1.1 requires an author on the feed or on each entry. Key events carry the category
`key-event` in our scheme, so they cannot be mistaken for an upstream tag of the same name.

The tree is built with ElementTree, which escapes text and attributes; characters XML 1.0 forbids
(C0 controls, lone surrogates, U+FFFE/U+FFFF) are removed first because no escape can carry them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime

from timeline.models import Event, Timeline, Tombstone, rfc3339
from timeline.render._common import headline, shown, with_note_html

__all__ = ["ATOM_NS", "KEY_EVENT_SCHEME", "KEY_EVENT_TERM", "atom_feed", "entry_id", "feed_id"]

ATOM_NS = "http://www.w3.org/2005/Atom"
KEY_EVENT_TERM = "key-event"
KEY_EVENT_SCHEME = "urn:liveblog-timeline:flags"
_GENERATOR = "liveblog-timeline"
_XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def feed_id(timeline_id: str) -> str:
    """The feed's `atom:id`: from the timeline id, not its slug, which can be renamed."""
    return f"urn:liveblog-timeline:timeline:{timeline_id}"


def entry_id(event_id: str) -> str:
    """An entry's `atom:id`: stable across edits because the event id is."""
    return f"urn:liveblog-timeline:event:{event_id}"


def atom_feed(
    timeline: Timeline,
    events: Sequence[Event | Tombstone],
    *,
    self_url: str,
    html_url: str | None,
    updated: datetime,
) -> bytes:
    """The UTF-8 Atom document of `events`, newest first, tombstones left out.

    The feed's `updated` is the newest entry's, or `updated` when no event is shown.
    """
    entries = shown(events, newest_first=True)
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _element(feed, "id", feed_id(timeline.id))
    _element(feed, "title", timeline.title)
    _element(feed, "updated", rfc3339(max(map(_updated, entries), default=updated)))
    _link(feed, "self", self_url, "application/atom+xml")
    if html_url:
        _link(feed, "alternate", html_url, "text/html")
    _author(feed, timeline.title)
    _element(feed, "generator", _GENERATOR)
    for event in entries:
        _entry(feed, event)
    return _XML_DECLARATION + ET.tostring(feed, encoding="unicode").encode()


def _entry(feed: ET.Element, event: Event) -> None:
    entry = ET.SubElement(feed, "entry")
    _element(entry, "id", entry_id(event.id))
    _element(entry, "title", headline(event))
    _element(entry, "published", rfc3339(event.published_at))
    _element(entry, "updated", rfc3339(_updated(event)))
    if event.url:
        _link(entry, "alternate", event.url, "text/html")
    for name in event.authors:
        _author(entry, name)
    _categories(entry, event)
    for media in event.media:
        _link(entry, "enclosure", media.url, _mime_type(media.kind), length=media.size)
    if event.summary:
        _element(entry, "summary", event.summary)
    _element(entry, "content", with_note_html(event), type="html")


def _updated(event: Event) -> datetime:
    return event.updated_at or event.published_at


def _categories(entry: ET.Element, event: Event) -> None:
    if event.key_event:
        _element(entry, "category", term=KEY_EVENT_TERM, scheme=KEY_EVENT_SCHEME, label="Key event")
    for tag in event.tags:
        _element(entry, "category", term=tag)


def _mime_type(kind: str | None) -> str | None:
    """Media kinds are MIME types or broad words such as `image`; only the former fit `link/@type`."""
    return kind if kind and "/" in kind else None


def _author(parent: ET.Element, name: str) -> None:
    _element(ET.SubElement(parent, "author"), "name", name)


def _link(
    parent: ET.Element, rel: str, href: str, media_type: str | None, *, length: int | None = None
) -> None:
    attributes = {"rel": rel, "href": href} | ({"type": media_type} if media_type else {})
    _element(parent, "link", **attributes, **({"length": str(length)} if length else {}))


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> None:
    """A child element whose text and attribute values are stripped of what XML 1.0 cannot hold."""
    child = ET.SubElement(parent, tag, {name: _xml_chars(value) for name, value in attributes.items()})
    child.text = _xml_chars(text) if text is not None else None


def _xml_chars(text: str) -> str:
    return _NOT_XML.sub("", text)
