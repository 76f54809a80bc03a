"""The editors' console at `/admin`: one static page and its ES modules, over the public JSON API only.

Whatever the console does, an integrator can do with the API: it has no route of its own but its files.
"""

from __future__ import annotations

from importlib.resources import files

from litestar.handlers import HTTPRouteHandler

from timeline.web.assets import Asset, static_route
from timeline.web.csp import console_policy

__all__ = ["CONSOLE_PATH", "admin_routes"]

CONSOLE_PATH = "/admin"
_PAGE = "index.html"
# The page must never be framed, sniffed as something else, or leak the console's URL onward.
_PAGE_HEADERS = (
    (b"content-security-policy", console_policy().encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def admin_routes() -> list[HTTPRouteHandler]:
    """`/admin` (the page) and `/admin/NAME` for each of its scripts and its stylesheet."""
    folder = files("timeline.web.admin").joinpath("static")
    page = static_route(CONSOLE_PATH, Asset.load(_PAGE, folder, _PAGE_HEADERS))
    names = sorted(entry.name for entry in folder.iterdir() if entry.name != _PAGE)
    return [page, *(static_route(f"{CONSOLE_PATH}/{name}", Asset.load(name, folder)) for name in names)]
