"""The one path every timeline read takes: seq lookup, ETag, 304, cached bytes, render on a miss."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response

from timeline.api.caching import CACHE_CONTROL, Rendered, SeqEntry, etag, matches
from timeline.api.deps import Services

JSON = "application/json"
Render = Callable[[SeqEntry], Awaitable[Rendered]]


async def cached_read(
    request: Request[Any, Any, Any],
    services: Services,
    timeline: str,
    render: Render,
    *,
    media_type: str = JSON,
) -> Response[bytes]:
    """Answer a read of `timeline` (id or slug): 304 when the client is current, else cached or fresh bytes.

    Only a stale seq entry (older than a second) costs a query; a 304 with a fresh one costs none.
    """
    entry = await services.seqs.get(timeline)
    route = request.scope.get("path_template", request.url.path)
    tag = etag(entry, route, request.url.query)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if matches(request.headers.get("if-none-match"), tag):
        services.metrics.not_modified.inc()
        return Response(b"", status_code=304, headers=headers)
    key = (entry.timeline_id, route, request.url.query)
    rendered = services.pages.get(key, entry.last_seq)
    if rendered is None:
        rendered = await render(entry)
        services.pages.put(key, rendered)
    return Response(rendered.body, media_type=media_type, headers={**headers, **dict(rendered.headers)})
