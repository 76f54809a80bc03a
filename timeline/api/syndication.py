"""Re-syndication of a timeline: Atom, JSON Feed 1.1 and TimelineJS, through the cached read path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from timeline.api.caching import Rendered, SeqEntry
from timeline.api.deps import Services
from timeline.api.events import TimelineId
from timeline.api.reads import JSON, answer_from_cache, cached_read, read_responses
from timeline.models import Event, Timeline
from timeline.render import atom_feed, json_feed, timelinejs

FEED_SIZE = 50  # newest events in a feed; feed readers keep what they have seen
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json"

Renderer = Callable[[Timeline, list[Event], str], bytes]


class SyndicationController(Controller):
    path = "/api/v1/timelines/{timeline:str}"
    tags = ["syndication"]  # noqa: RUF012 (Litestar reads it as a class attribute)
    middleware = [answer_from_cache]  # noqa: RUF012

    @get(
        "/feed.atom",
        summary=f"Atom feed of the newest {FEED_SIZE} events",
        media_type=ATOM,
        responses=read_responses(str, "Atom 1.0 document.", media_type=ATOM),
    )
    async def atom(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], timeline: TimelineId
    ) -> Response[bytes]:
        def render(found: Timeline, events: list[Event], url: str) -> bytes:
            updated = max((e.updated_at or e.published_at for e in events), default=found.created_at)
            return atom_feed(found, events, self_url=url, html_url=None, updated=updated)

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
        def render(found: Timeline, events: list[Event], url: str) -> bytes:
            return json_feed(found, events, feed_url=url, home_page_url=None)

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
        return Rendered(entry.last_seq, render(found, page.events, str(request.url)))

    return await cached_read(request, services, timeline, rendered, media_type=media_type)
