"""Identifiers and opaque cursors (pure)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

import orjson

from timeline.errors import InvalidCursorError

# Cursors hold integer microseconds since the epoch, computed without floats: `timestamp() * 1e6` came out
# 1 µs short for some times (about 6 % of those before 2008, bogus feed dates such as 1970 included), and a
# cursor 1 µs off repeats or skips an event.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def event_id(source_id: str, upstream_id: str) -> str:
    """Stable public id of an update: the same source and upstream id always give the same id."""
    digest = hashlib.blake2b(f"{source_id}\x00{upstream_id}".encode(), digest_size=10).digest()
    return "ev_" + _b32(digest)


def new_id(prefix: str) -> str:
    """A random id such as `tl_…` or `src_…`."""
    return f"{prefix}_{_b32(secrets.token_bytes(10))}"


def webhook_secret() -> str:
    """A new signing secret as the Standard Webhooks libraries read it: `whsec_` and 32 random bytes in
    base64 (the libraries take 24 to 64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def source_id(timeline_id: str, url: str) -> str:
    """The id of the source at `url` in a timeline: the same for the same canonical URL, so a source that is
    detached and attached again gets its old id back, and with it the ids of its events."""
    digest = hashlib.blake2b(f"{timeline_id}\x00{canonical_url(url)}".encode(), digest_size=10).digest()
    return "src_" + _b32(digest)


def editorial_source_id(timeline_id: str) -> str:
    """The id of a timeline's built-in editorial source, whose events are the editors' own posts. It is
    derived as any source's is, from its own namespace, so no URL can ever take it; event ids then derive
    from it and a post's upstream id (`post_…`) like any update's."""
    digest = hashlib.blake2b(f"editorial\x00{timeline_id}".encode(), digest_size=10).digest()
    return "src_" + _b32(digest)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """`url` with its scheme and host in lower case, without a default port or a fragment. The path and
    query stay as given: servers may tell their case and escapes apart."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    return SplitResult(scheme, _netloc(parts, scheme), parts.path, parts.query, "").geturl()


def _netloc(parts: SplitResult, scheme: str) -> str:
    userinfo, at, host_port = parts.netloc.rpartition("@")
    try:
        port = parts.port
    except ValueError:  # not a number: no default port to drop
        return f"{userinfo}{at}{host_port.lower()}"
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{userinfo}{at}{host}"


class SortKey(NamedTuple):
    """The total order of a timeline: publication time, then the source's own order, then id."""

    published_at: datetime
    position: int
    id: str


def encode_cursor(key: SortKey) -> str:
    micros = (key.published_at - _EPOCH) // _MICROSECOND
    raw = orjson.dumps([1, micros, key.position, key.id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, *, parameter: str | None = None) -> SortKey:
    """Inverse of `encode_cursor`; anything else raises `InvalidCursorError`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, micros, position, ident = orjson.loads(raw)
        if version != 1 or not isinstance(ident, str) or not isinstance(position, int):
            raise ValueError("unknown cursor version")
        if not -(2**63) <= position < 2**63:  # positions are BIGINT
            raise ValueError("position out of range")
        published = _EPOCH + timedelta(microseconds=micros)
        return SortKey(published, position, ident)
    except (ValueError, TypeError, OverflowError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise InvalidCursorError(cursor, parameter) from exc
