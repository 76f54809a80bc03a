"""The service's public URLs: its base (`TIMELINE_PUBLIC_URL`, else what the request was addressed to),
and a timeline's human page, the embed page that `timeline.web` serves and the feeds name as theirs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request

from timeline.settings import Settings


def public_base(request: Request[Any, Any, Any], settings: Settings) -> str:
    """`https://host[:port][/root]` without a trailing slash.

    Without TIMELINE_PUBLIC_URL this trusts the Host header (and, behind a proxy, uvicorn's
    `--proxy-headers`): fine for links in a page, whose cache is keyed by this value too.
    """
    if settings.public_url:
        return settings.public_url
    return str(request.base_url).rstrip("/")


def embed_url(base: str, timeline: str) -> str:
    """The embed page of `timeline` (an id or a slug): `{base}/embed/{timeline}`."""
    return f"{base}/embed/{quote(timeline, safe='')}"
