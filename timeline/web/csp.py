"""The Content-Security-Policy of the embed page: nothing but our own files, and https images.

No inline script or style at all (the JSON-LD block is data, which CSP does not govern), so no
hashes or nonces are needed and cached pages stay byte-identical.
"""

from __future__ import annotations

from timeline.settings import Settings


def embed_policy(settings: Settings) -> str:
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "https:",  # sanitized bodies keep https images only
        "connect-src": "'self'",  # the widget's REST reads and SSE stream
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": settings.embed_frame_ancestors,
        # HTML is only ever inserted by widget.js, through its Trusted Types policy.
        "require-trusted-types-for": "'script'",
        "trusted-types": "live-timeline",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())
