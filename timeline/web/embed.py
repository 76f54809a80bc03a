"""`GET /embed/{id}`: the timeline as a page for `<iframe>`s, readable before (and without) JavaScript."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from timeline.api.caching import Rendered, SeqEntry
from timeline.api.deps import Services
from timeline.api.events import TimelineId
from timeline.api.reads import cached_read
from timeline.errors import TimelineNotFoundError
from timeline.web.csp import embed_policy
from timeline.web.jsonld import Coverage
from timeline.web.page import EmbedUrls, embed_page, not_found_page
from timeline.web.urls import public_base

HTML = "text/html"  # Litestar appends `; charset=utf-8`
PAGE_SIZE = 20  # as the widget's first page


@get("/embed/{timeline:str}", include_in_schema=False, media_type=HTML)
async def embed(
    request: Request[Any, Any, Any], services: NamedDependency[Services], timeline: TimelineId
) -> Response[bytes]:
    """An HTML 404 when the timeline is unknown: an iframe shows it to readers, who cannot read JSON."""
    headers = {
        "Content-Security-Policy": embed_policy(services.settings),
        "X-Content-Type-Options": "nosniff",
    }
    base = public_base(request, services.settings)

    async def render(entry: SeqEntry) -> Rendered:
        return Rendered(entry.last_seq, await _render(services, entry, base))

    try:
        return await cached_read(request, services, timeline, render, media_type=HTML, headers=headers)
    except TimelineNotFoundError:
        return Response(not_found_page().encode(), status_code=404, media_type=HTML, headers=headers)


async def _render(services: Services, entry: SeqEntry, base: str) -> bytes:
    store = services.store
    found = await store.get_timeline(entry.timeline_id)
    pinned = await store.pinned(entry.timeline_id)
    newest = (await store.page(entry.timeline_id, limit=PAGE_SIZE)).events
    oldest = (await store.page(entry.timeline_id, order="asc", limit=1)).events
    states = [await store.get_poll_state(source.id) for source in found.sources]
    coverage = Coverage.of(
        [(state.coverage_start, state.coverage_end) for state in states],
        first=oldest[0].published_at if oldest else None,
        last=newest[0].published_at if newest and found.status == "ended" else None,
    )
    page = embed_page(found, pinned, newest, EmbedUrls(base, found.slug), coverage)
    return page.encode()
