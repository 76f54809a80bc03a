"""The raw hash: an update as the source sent it, before normalization, so a poll can tell that an update
is unchanged without sanitizing and rendering it again.

It covers every field of the parsed update, the URL relative links resolve against, and the version of the
normalizer: the same raw hash means the same draft (its `published_at` aside when estimated, which the
store keeps from the first sighting anyway). So the hashes change, and every update is normalized again,
whenever `VERSION` is bumped, the content hash's scheme changes, or the sanitizing libraries (whose output
is part of `body_html`) are upgraded.
"""

from __future__ import annotations

import hashlib
import json

import nh3
import orjson
import selectolax

from feeds.types import ParsedUpdate
from timeline.normalize.content_hash import SCHEME

__all__ = ["VERSION", "raw_hash"]

# Bump whenever `normalize` may turn the same update into a different draft (a sanitizing policy, the
# text rendering, a field's cleaning): stored events only show the change once their updates are
# normalized again, and known updates are not.
VERSION = 1

# The libraries' versions as they declare them at run time (their typing stubs leave them out).
_LIBRARIES = [f"{lib.__name__} {getattr(lib, '__version__', '')}" for lib in (nh3, selectolax)]
_BASIS = f"content hash {SCHEME}, {', '.join(_LIBRARIES)}"


def raw_hash(update: ParsedUpdate, base_url: str | None) -> str:
    """32 hex digits of blake2b over the update's fields, `base_url` and the normalizer's version."""
    media = [(item.url, item.kind, item.caption, item.size) for item in update.media]
    fields = [
        VERSION,
        _BASIS,
        base_url,
        update.upstream_id,
        update.published_at,
        update.updated_at,
        update.title,
        update.summary,
        update.body_html,
        update.url,
        update.key_event,
        update.pinned,
        update.deleted,
        update.authors,
        update.tags,
        media,
        update.position,
    ]
    try:
        payload = orjson.dumps(fields)
    except TypeError:  # a lone surrogate, which orjson refuses (normalizing removes them)
        payload = json.dumps(fields, default=str).encode()
    return hashlib.blake2b(payload, digest_size=16).hexdigest()
