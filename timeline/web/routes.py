"""The web routes, built per app so static files are read once at startup."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from timeline.web.assets import Asset
from timeline.web.embed import embed
from timeline.web.oembed import oembed

STATIC = ("widget.js", "embed.js", "embed-host.js", "embed.css")


def web_routes() -> list[HTTPRouteHandler]:
    """The embed page, its scripts and style, and `/widget.js`."""
    return [embed, oembed, *(_static_route(name) for name in STATIC)]


def _static_route(name: str) -> HTTPRouteHandler:
    asset = Asset.load(name)

    async def static(request: Request[Any, Any, Any]) -> Response[bytes]:
        return asset.response(request)

    return get(f"/{name}", include_in_schema=False, name=f"static:{name}")(static)
