"""The web routes, built per app so static files are read once at startup."""

from __future__ import annotations

from litestar import get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect

from timeline.web.admin import CONSOLE_PATH, admin_routes
from timeline.web.assets import Asset, static_route
from timeline.web.embed import embed
from timeline.web.oembed import oembed

STATIC = ("widget.js", "embed.js", "embed-host.js", "embed.css")


def web_routes() -> list[HTTPRouteHandler]:
    """The embed page, its scripts and style, `/widget.js`, and the editors' console."""
    assets = (static_route(f"/{name}", Asset.load(name)) for name in STATIC)
    return [embed, oembed, home, *assets, *admin_routes()]


@get("/", include_in_schema=False)
async def home() -> Redirect:
    """Nothing else lives at the root: whoever opens the service's address lands on the console."""
    return Redirect(CONSOLE_PATH, status_code=302)
