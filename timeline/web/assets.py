"""Same-origin scripts and styles served from memory: read and compressed once, when the app is built."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import PurePath
from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from timeline.api import cors
from timeline.api.caching import Stored, matched
from timeline.api.compression import BROTLI, GZIP, accepted
from timeline.api.edge import VARY
from timeline.api.reads import CompleteResponse

MEDIA_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".html": b"text/html; charset=utf-8",
}
# Short: a deploy reaches every embed within minutes, and the ETag makes revalidation cheap.
ASSET_CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True, slots=True)
class Asset:
    stored: Stored
    etag: str

    @classmethod
    def load(
        cls, name: str, folder: Traversable | None = None, headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> Asset:
        """The file `name` of `folder` (default: the embed's `static/`), with `headers` besides its own,
        and both its codings at their best (a one-off cost at startup, ~30 ms for widget.js)."""
        body = (folder or files("timeline.web").joinpath("static")).joinpath(name).read_bytes()
        tag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        headers = (
            (b"content-type", MEDIA_TYPES[PurePath(name).suffix]),
            (b"content-length", str(len(body)).encode()),
            (b"etag", tag.encode()),
            (b"cache-control", ASSET_CACHE_CONTROL.encode()),
            VARY,
            *cors.READ,
            *headers,
        )
        stored = Stored(0, body, headers)
        for coding in (BROTLI, GZIP):
            stored.coded(coding, best=True)
        return cls(stored, tag)

    def response(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        held = matched(request.headers.get("if-none-match"), self.etag)
        if held is not None:
            return CompleteResponse(304, self._unchanged(held), b"")
        chosen = self.stored.representation(accepted(request.headers.get("accept-encoding")))
        return CompleteResponse(200, chosen.headers, chosen.body)

    def _unchanged(self, tag: str) -> list[tuple[bytes, bytes]]:
        kept = (b"cache-control", b"vary", *(name for name, _ in cors.READ))
        return [(b"etag", tag.encode()), *((n, v) for n, v in self.stored.headers if n in kept)]


def static_route(path: str, asset: Asset) -> HTTPRouteHandler:
    """`GET path` answering `asset` from memory."""

    async def static(request: Request[Any, Any, Any]) -> Response[bytes]:
        return asset.response(request)

    return get(path, include_in_schema=False, name=f"static:{path}")(static)
