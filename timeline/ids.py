"""Identifiers and opaque cursors (pure)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from datetime import UTC, datetime
from typing import NamedTuple

import orjson

from timeline.errors import InvalidCursorError


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def event_id(source_id: str, upstream_id: str) -> str:
    """Stable public id of an update: the same source and upstream id always give the same id."""
    digest = hashlib.blake2b(f"{source_id}\x00{upstream_id}".encode(), digest_size=10).digest()
    return "ev_" + _b32(digest)


def new_id(prefix: str) -> str:
    """A random id such as `tl_…` or `src_…`."""
    return f"{prefix}_{_b32(secrets.token_bytes(10))}"


class SortKey(NamedTuple):
    """The total order of a timeline: publication time, then the source's own order, then id."""

    published_at: datetime
    position: int
    id: str


def encode_cursor(key: SortKey) -> str:
    micros = int(key.published_at.timestamp() * 1_000_000)
    raw = orjson.dumps([1, micros, key.position, key.id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    """Inverse of `encode_cursor`; anything else raises `InvalidCursorError`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, micros, position, ident = orjson.loads(raw)
        if version != 1 or not isinstance(ident, str):
            raise ValueError("unknown cursor version")
        published = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
        return SortKey(published, int(position), ident)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise InvalidCursorError(cursor) from exc
