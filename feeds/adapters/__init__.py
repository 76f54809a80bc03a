"""Format adapters: pure functions `(body, base_url, *, default_tz, limits) -> ParsedSnapshot`, and detection.

ADAPTERS    name → adapter (guardian, jsonld, syndication, wordpress)
NAMES       every name a source may pin, "auto" included
detect()    content-type + first bytes → adapter name
parse()     detect (unless pinned) and parse, within `Limits`
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Protocol

from feeds.adapters import guardian, jsonld, syndication, wordpress
from feeds.adapters._common import check_json_depth
from feeds.adapters._detect import NOT_READ, sniff
from feeds.types import DEFAULT_LIMITS, Limits, ParsedSnapshot

__all__ = ["ADAPTERS", "NAMES", "Adapter", "detect", "parse"]


class Adapter(Protocol):
    """A pure parser: no network, clock, database or settings."""

    def __call__(
        self, body: bytes, base_url: str, *, default_tz: tzinfo = UTC, limits: Limits = DEFAULT_LIMITS
    ) -> ParsedSnapshot: ...


class _JSONReader(Protocol):
    """An adapter's reader for a document detection has already parsed as JSON."""

    def __call__(
        self, document: object, base_url: str, *, default_tz: tzinfo = UTC, limits: Limits = DEFAULT_LIMITS
    ) -> ParsedSnapshot: ...


ADAPTERS: dict[str, Adapter] = {
    guardian.NAME: guardian.parse,
    jsonld.NAME: jsonld.parse,
    syndication.NAME: syndication.parse,
    wordpress.NAME: wordpress.parse,
}
NAMES: tuple[str, ...] = ("auto", *ADAPTERS)
_JSON_READERS: dict[str, _JSONReader] = {
    guardian.NAME: guardian.read,
    syndication.NAME: syndication.read_json_feed,
    wordpress.NAME: wordpress.read,
}


def detect(content_type: str | None, head: bytes, *, url: str | None = None) -> str:
    """The adapter for a document, from its first bytes (or all of them), else its content-type.

    Raises `FormatNotDetectedError` (naming the supported formats, and what the body is when it is empty
    or an error) when neither tells.
    """
    return sniff(content_type, head, url=url).name


def parse(
    body: bytes,
    base_url: str,
    *,
    adapter: str = "auto",
    content_type: str | None = None,
    default_tz: tzinfo = UTC,
    limits: Limits = DEFAULT_LIMITS,
) -> ParsedSnapshot:
    """Parse `body` with the pinned `adapter`, or the detected one when it is "auto".

    Raises `ValueError` for an unknown adapter name, and a `ParseError` for a document it cannot read,
    error bodies and empty ones included.
    """
    if adapter not in NAMES:
        raise ValueError(f"unknown adapter {adapter!r}; valid names: {', '.join(NAMES)}")
    if adapter != "auto":
        return ADAPTERS[adapter](body, base_url, default_tz=default_tz, limits=limits)
    found = sniff(content_type, body, url=base_url)
    reader = _JSON_READERS.get(found.name)
    if reader is None or found.document is NOT_READ:
        return ADAPTERS[found.name](body, base_url, default_tz=default_tz, limits=limits)
    check_json_depth(found.body, base_url, limits)  # what the adapter's own JSON loading would check
    return reader(found.document, base_url, default_tz=default_tz, limits=limits)
