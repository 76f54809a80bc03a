"""The embed page as HTML, rendered without JavaScript: pinned posts, then the newest events.

Every value is escaped with `html.escape` except `body_html`, which the store holds already sanitized
(nh3 allow-list, see `timeline.normalize.sanitize`), and the JSON-LD, which `jsonld.script_json` makes
safe inside `<script>`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from html import escape
from importlib.resources import files
from string import Template
from urllib.parse import quote, urlencode

from timeline.models import Event, Timeline, rfc3339
from timeline.web.jsonld import Coverage, live_blog_posting, script_json
from timeline.web.urls import embed_url


@dataclass(frozen=True, slots=True)
class EmbedUrls:
    """Where the page's links point, from the service's public base URL and a timeline's id or slug."""

    base: str
    timeline: str

    @property
    def embed(self) -> str:
        return embed_url(self.base, self.timeline)

    @property
    def api(self) -> str:
        return f"{self.base}/api/v1/timelines/{quote(self.timeline, safe='')}"

    @property
    def oembed(self) -> str:
        return f"{self.base}/oembed?" + urlencode({"url": self.embed, "format": "json"})


@cache
def template(name: str) -> Template:
    return Template(files("timeline.web").joinpath("templates", name).read_text("utf-8"))


def embed_page(
    timeline: Timeline, pinned: list[Event], events: list[Event], urls: EmbedUrls, coverage: Coverage
) -> str:
    """The whole page; `events` newest first, pinned ones shown once, on top."""
    pinned_ids = {event.id for event in pinned}
    rest = [event for event in events if event.id not in pinned_ids]
    document = live_blog_posting(timeline, [*pinned, *rest], url=urls.embed, coverage=coverage)
    return template("embed.html").substitute(
        id=escape(timeline.id),
        title=escape(timeline.title),
        embed_url=escape(urls.embed),
        oembed_url=escape(urls.oembed),
        api_url=escape(urls.api),
        jsonld=script_json(document),
        pinned=_list(pinned, "pinned") if pinned else "",
        events=_items(rest) or '<li class="empty">No updates yet.</li>',
    )


def not_found_page() -> str:
    return template("not-found.html").template


def _list(events: list[Event], css_class: str) -> str:
    return f'<ol class="{css_class}">\n{_items(events)}\n</ol>'


def _items(events: Iterable[Event]) -> str:
    return "\n".join(_item(event) for event in events)


def _item(event: Event) -> str:
    marks = " key-event" * event.key_event + " pinned" * event.pinned
    title = f"<h2>{escape(event.title)}</h2>" if event.title else ""
    return (
        f'<li id="{escape(event.id)}" class="event{marks}"><article>'
        f"<header>{_time(event.published_at)}{_updated(event)}{title}</header>{_note(event)}"
        f'<div class="body">{event.body_html}</div>'
        f"</article></li>"
    )


def _note(event: Event) -> str:
    """The editors' note: plain text, escaped like every value but the body."""
    if not event.note:
        return ""
    return f'<p class="editor-note"><strong>Editor’s note:</strong> {escape(event.note)}</p>'


def _updated(event: Event) -> str:
    if event.revision < 2 or event.updated_at is None:
        return ""
    return f' <span class="updated">updated {_time(event.updated_at)}</span>'


def _time(moment: datetime) -> str:
    """Readers without JavaScript see UTC, said so; the widget shows their own zone."""
    return f'<time datetime="{rfc3339(moment)}">{moment.day} {moment:%b %Y, %H:%M} UTC</time>'
