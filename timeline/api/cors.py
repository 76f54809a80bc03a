"""CORS: every read is open to every origin, the same way whatever the request says; writes are not.

`Access-Control-Allow-Origin: *` goes on every response to GET and HEAD, asked for or not, rather than
an echo of the request's `Origin` with `Vary: Origin`. Reads are public and carry nothing personal:
writes are authorised by a bearer key in a header, never by cookies, so no browser ever holds a
credential a page of another origin could borrow, and `*` (which browsers refuse to combine with
credentials anyway) exposes nothing. And a response that does not depend on `Origin` is one a CDN or
browser cache can store once and give to everyone: the widget on any site, a feed reader, a link
checker. Echoing would need `Vary: Origin` on every read and split every cache per site.

A preflight may open GET and HEAD only; any other method is refused with a problem (403), so a page of
another origin cannot even ask to write, key or no key. It does open the `Authorization` header for those
reads (which `*` alone leaves out): a console on another origin may read with a key what the public does
not see (keyed event reads). A key is never ambient, as a cookie is: only a page that holds one can send
it, so this lends nothing to pages that do not.
"""

from __future__ import annotations

from timeline.api.compression import Headers

METHODS = "GET, HEAD, OPTIONS"
# Read by the widget and by clients that page (`Link`) and revalidate (`ETag`).
EXPOSED = "ETag, Link"
PREFLIGHT_MAX_AGE = "7200"  # seconds; Chromium's ceiling

READ: Headers = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", EXPOSED.encode()),
)
PREFLIGHT: Headers = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", METHODS.encode()),
    # `*` is any request header but `Authorization`, which must be named.
    (b"access-control-allow-headers", b"*, Authorization"),
    (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
)


def opens(method: str) -> bool:
    """Whether a preflight may open `method` (its `Access-Control-Request-Method`)."""
    return method in ("GET", "HEAD")
