"""`GET /oembed?url=…`: oEmbed 1.0 (`rich`) for this service's embed and timeline URLs.

https://oembed.com/ §2.2–2.4: only JSON is offered (501 for any other `format`); a URL that is not
ours, or names no timeline, is 404.
"""

from __future__ import annotations

import re
from html import escape
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from pydantic import BaseModel

from timeline.api.deps import Services
from timeline.api.problems import problem
from timeline.api.reads import JSON
from timeline.web.page import EmbedUrls
from timeline.web.urls import public_base

PROVIDER = "liveblog-timeline"
WIDTH, HEIGHT = 600, 800  # the iframe's size before embed-host.js fits it to the content
CACHE_CONTROL = "public, max-age=300"
# Timeline ids (`tl_…`) and slugs are ASCII letters, digits, `_` and `-`.
_TIMELINE_PATH = re.compile(r"/(?:embed|api/v1/timelines)/([A-Za-z0-9_-]{1,200})/?")


class OEmbed(BaseModel):
    version: Literal["1.0"] = "1.0"
    type: Literal["rich"] = "rich"
    title: str
    provider_name: str = PROVIDER
    provider_url: str
    html: str
    width: int
    height: int
    cache_age: int = 300


# Specified by oembed.com rather than our OpenAPI document, whose clients expect no 5xx (501 is by design).
@get("/oembed", include_in_schema=False)
async def oembed(
    request: Request[Any, Any, Any],
    services: NamedDependency[Services],
    url: Annotated[str, QueryParameter(description="`…/embed/{id}` or `…/api/v1/timelines/{id}`.")],
    maxwidth: Annotated[int | None, QueryParameter(ge=1, description="Widest the iframe may be.")] = None,
    maxheight: Annotated[int | None, QueryParameter(ge=1, description="Tallest the iframe may be.")] = None,
    format: Annotated[str, QueryParameter(description="Only `json`.")] = "json",
) -> Response[bytes]:
    if format != "json":
        return problem(501, "oembed.format", "Format not implemented", "Only `format=json` is offered.")
    base = public_base(request, services.settings)
    timeline_id = _timeline_of(url, base)
    if timeline_id is None:
        detail = f"Give an embed URL of this service, such as {base}/embed/TIMELINE."
        return problem(404, "oembed.not_ours", "Not an embed URL of this service", detail, parameter="url")
    found = await services.store.get_timeline(timeline_id)  # TimelineNotFoundError → 404
    width, height = min(WIDTH, maxwidth or WIDTH), min(HEIGHT, maxheight or HEIGHT)
    body = OEmbed(
        title=found.title,
        provider_url=base + "/",
        html=snippet(EmbedUrls(base, found.slug), found.title, width, height),
        width=width,
        height=height,
    )
    return Response(
        body.model_dump_json().encode(), media_type=JSON, headers={"Cache-Control": CACHE_CONTROL}
    )


def snippet(urls: EmbedUrls, title: str, width: int, height: int) -> str:
    """The iframe and the script that fits its height to the content (see static/embed-host.js).

    No inline style, so hosts with a strict CSP take it as it is; the script styles the frame instead.
    """
    return (
        f'<iframe data-live-timeline src="{escape(urls.embed)}" title="{escape(title)}" '
        f'width="{width}" height="{height}" loading="lazy"></iframe>'
        f'<script async src="{escape(urls.base)}/embed-host.js"></script>'
    )


def _timeline_of(url: str, base: str) -> str | None:
    """The timeline id or slug `url` names, if it is one of our embed or timeline URLs."""
    try:
        ours, given = urlsplit(base), urlsplit(url)
    except ValueError:  # e.g. an unclosed `[` of an IPv6 host
        return None
    if given.scheme not in ("http", "https") or given.netloc.lower() != ours.netloc.lower():
        return None
    root = ours.path.rstrip("/")
    if not given.path.startswith(root + "/"):
        return None
    matched = _TIMELINE_PATH.fullmatch(given.path[len(root) :])
    return matched.group(1) if matched else None
