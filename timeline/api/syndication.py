"""Re-syndication of a timeline: Atom, JSON Feed 1.1 and TimelineJS, through the cached read path.

A feed's human page (Atom's `link rel="alternate"`, JSON Feed's `home_page_url`) is the timeline's embed
page: the HTML of exactly what the feed lists, editorial changes included. Not the source's own page,
even for a timeline of one source: that page shows the upstream's blog, not this timeline (each entry
links its own update upstream).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from timeline.api.caching import Rendered, SeqEntry
from timeline.api.deps import Services
from timeline.api.events import TimelineId
from timeline.api.reads import FRONT, JSON, cached_read, read_responses
from timeline.api.urls import embed_url, public_base
from timeline.models import Event, Timeline
from timeline.render import atom_feed, json_feed, timelinejs

FEED_SIZE = 50  # newest events in a feed; feed readers keep what they have seen
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json"


@dataclass(frozen=True, slots=True)
class FeedUrls:
    """Where a feed is (as requested) and its timeline's human page."""

    feed: str
    page: str


Renderer = Callable[[Timeline, list[Event], FeedUrls], bytes]


class SyndicationController(Controller):
    path = "/api/v1/timelines/{timeline:str}"
    tags = ["syndication"]  # noqa: RUF012 (Litestar reads it as a class attribute)
    opt = {FRONT: True}  # noqa: RUF012

    @get(
        "/feed.atom",
        summary=f"Atom feed of the newest {FEED_SIZE} events",
        media_type=ATOM,
        responses=read_responses(str, "Atom 1.0 document.", media_type=ATOM),
    )
    async def atom(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], timeline: TimelineId
    ) -> Response[bytes]:
        def render(found: Timeline, events: list[Event], urls: FeedUrls) -> bytes:
            updated = max((e.updated_at or e.published_at for e in events), default=found.created_at)
            return atom_feed(found, events, self_url=urls.feed, html_url=urls.page, updated=updated)

        return await _feed(request, services, timeline, render, ATOM)

    @get(
        "/feed.json",
        summary=f"JSON Feed 1.1 of the newest {FEED_SIZE} events",
        media_type=JSON_FEED,
        responses=read_responses(dict[str, Any], "JSON Feed 1.1.", media_type=JSON_FEED),
    )
    async def json_feed(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], timeline: TimelineId
    ) -> Response[bytes]:
        def render(found: Timeline, events: list[Event], urls: FeedUrls) -> bytes:
            return json_feed(found, events, feed_url=urls.feed, home_page_url=urls.page)

        return await _feed(request, services, timeline, render, JSON_FEED)

    @get(
        "/timelinejs.json",
        summary=f"Knight Lab TimelineJS3 document of the newest {FEED_SIZE} events",
        responses=read_responses(dict[str, Any], "TimelineJS3 JSON."),
    )
    async def timelinejs(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], timeline: TimelineId
    ) -> Response[bytes]:
        return await _feed(
            request, services, timeline, lambda found, events, _: timelinejs(found, events), JSON
        )


async def _feed(
    request: Request[Any, Any, Any],
    services: NamedDependency[Services],
    timeline: str,
    render: Renderer,
    media_type: str,
) -> Response[bytes]:
    async def rendered(entry: SeqEntry) -> Rendered:
        found = await services.store.get_timeline(entry.timeline_id)
        page = await services.store.page(entry.timeline_id, limit=FEED_SIZE)
        urls = FeedUrls(str(request.url), embed_url(public_base(request, services.settings), found.slug))
        return Rendered(entry.last_seq, render(found, page.events, urls))

    return await cached_read(request, services, timeline, rendered, media_type=media_type)
