"""Content-Security-Policies of our pages: nothing but our own files, and https images.

No inline script or style at all (the JSON-LD block is data, which CSP does not govern), so no
hashes or nonces are needed and cached pages stay byte-identical.
"""

from __future__ import annotations

from timeline.settings import Settings


def embed_policy(settings: Settings) -> str:
    return _policy(
        {
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
    )


def console_policy() -> str:
    """The editors' console: as the embed page, plus a frame of our own embed page (its live preview),
    and framed by nobody (a console in another site's frame could be clicked through unseen)."""
    return _policy(
        {
            "default-src": "'none'",
            "script-src": "'self'",
            "style-src": "'self'",
            "img-src": "https:",
            "connect-src": "'self'",  # the public API, keyed, and the stream
            "frame-src": "'self'",
            "base-uri": "'none'",
            "form-action": "'none'",  # forms are read by scripts, never submitted: a key stays off URLs
            "frame-ancestors": "'none'",
            # Only server-sanitized HTML (bodies, previews) is inserted, through this one policy.
            "require-trusted-types-for": "'script'",
            "trusted-types": "console",
        }
    )


def _policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())
