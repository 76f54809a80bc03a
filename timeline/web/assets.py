"""Same-origin scripts served from memory: read once when the app is built, with a strong ETag."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import PurePath
from typing import Any

from litestar import Request, Response

from timeline.api.caching import matches

# Litestar appends `; charset=utf-8` to text types.
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
# Short: a deploy reaches every embed within minutes, and the ETag makes revalidation cheap.
ASSET_CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    etag: str
    media_type: str

    @classmethod
    def load(cls, name: str) -> Asset:
        body = files("timeline.web").joinpath("static", name).read_bytes()
        tag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        return cls(body, tag, MEDIA_TYPES[PurePath(name).suffix])

    def response(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        headers = {"ETag": self.etag, "Cache-Control": ASSET_CACHE_CONTROL}
        if matches(request.headers.get("if-none-match"), self.etag):
            return Response(b"", status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)
