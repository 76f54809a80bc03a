"""The service's public base URL: `TIMELINE_PUBLIC_URL`, else what the request was addressed to.

Defined beside the API, whose feeds link to the embed page too (`timeline.api.urls`).
"""

from __future__ import annotations

from timeline.api.urls import embed_url, public_base

__all__ = ["embed_url", "public_base"]
