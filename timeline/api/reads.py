"""The one path every timeline read takes: seq lookup, ETag, 304, cached bytes, render on a miss."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response
from litestar.openapi import ResponseSpec

from timeline.api.caching import CACHE_CONTROL, Rendered, SeqEntry, etag, matches
from timeline.api.deps import Services
from timeline.api.problems import problem_responses

JSON = "application/json"
NOT_MODIFIED = ResponseSpec(
    None, generate_examples=False, description="Not modified since the ETag in If-None-Match."
)
Render = Callable[[SeqEntry], Awaitable[Rendered]]


def validators(tag: str) -> dict[str, str]:
    """The caching headers of every timeline read, on its 200 and its 304 alike."""
    return {"ETag": tag, "Cache-Control": CACHE_CONTROL}


def conditional(request: Request[Any, Any, Any], tag: str, body: bytes) -> Response[bytes]:
    """`body` as JSON, or 304 when the client's `If-None-Match` already holds `tag`."""
    if matches(request.headers.get("if-none-match"), tag):
        return Response(b"", status_code=304, headers=validators(tag))
    return Response(body, media_type=JSON, headers=validators(tag))


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
    headers = validators(tag)
    if matches(request.headers.get("if-none-match"), tag):
        services.metrics.not_modified.inc()
        return Response(b"", status_code=304, headers=headers)
    key = (entry.timeline_id, route, request.url.query)
    rendered = services.pages.get(key, entry.last_seq)
    if rendered is None:
        rendered = await render(entry)
        services.pages.put(key, rendered)
    return Response(rendered.body, media_type=media_type, headers={**headers, **dict(rendered.headers)})


def read_responses(data: Any, description: str, *, media_type: str = JSON) -> dict[int, ResponseSpec]:
    """OpenAPI responses of a cached read: the body's shape, and 304."""
    ok = ResponseSpec(data, generate_examples=False, description=description, media_type=media_type)
    return {200: ok, 304: NOT_MODIFIED, **problem_responses(400, 404, 503)}
