"""The content hash: what a reader can see of an event, so a revision is bumped only on a visible change.

Deliberately left out:
- an estimated `published_at` (the caller passes None): it is the time the update was first seen, so it
  moves on every re-normalization while the update itself did not change;
- `updated_at`: upstreams touch it without any visible change (re-saves, CMS migrations); counting it
  would record empty revisions;
- `position`: adapters that derive it from the place in the document (feeds, JSON-LD pages) shift it
  whenever a newer update arrives, which would bump every event on every poll;
- `body_text`: it is derived from `body_html`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

import orjson

from feeds.types import Media

__all__ = ["SCHEME", "content_hash"]

# Bump when the hashed fields change meaning: every stored event then records one new revision.
SCHEME = 1


def content_hash(
    *,
    url: str | None,
    published_at: datetime | None,
    title: str | None,
    summary: str | None,
    body_html: str,
    key_event: bool,
    pinned: bool,
    authors: Sequence[str],
    tags: Sequence[str],
    media: Sequence[Media],
    deleted: bool,
) -> str:
    """32 hex digits of blake2b over a canonical JSON array of the normalized fields.

    `published_at` is None when the time was estimated; datetimes must be UTC, as normalize makes them.
    """
    payload = orjson.dumps(
        [
            SCHEME,
            url,
            published_at,
            title,
            summary,
            body_html,
            key_event,
            pinned,
            authors,
            tags,
            [(item.url, item.kind, item.caption) for item in media],
            deleted,
        ]
    )
    return hashlib.blake2b(payload, digest_size=16).hexdigest()
