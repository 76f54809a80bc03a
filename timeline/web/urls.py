"""The service's public base URL: `TIMELINE_PUBLIC_URL`, else what the request was addressed to."""

from __future__ import annotations

from typing import Any

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
