"""Fetching and storing one source: fetch → parse → normalize → store.apply."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from feeds.adapters import parse
from feeds.fetch import Fetcher, FetchResult
from feeds.types import ParsedSnapshot
from timeline.hub import Hub
from timeline.models import Source
from timeline.normalize import normalize
from timeline.poller.robots import Robots
from timeline.store import ApplyResult, Store


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Ingestor:
    """Wires the fetcher, the adapters, normalization and the store for one source at a time.

    The API receives one from the composition root (`timeline.cli`), so it can check and poll sources
    without importing the fetcher itself; the scheduler polls through the same methods.
    """

    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        *,
        robots: Robots | None = None,
        hub: Hub | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._robots = robots
        self._hub = hub
        self._clock = clock

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """One conditional GET, after checking robots.txt. Raises `FetchError`."""
        if self._robots is not None:
            await self._robots.check(url)
        return await self._fetcher.fetch(url, etag=etag, last_modified=last_modified)

    def parse(self, fetched: FetchResult, adapter: str) -> ParsedSnapshot:
        """Raises `ParseError` with a message for humans."""
        return parse(fetched.body, fetched.final_url, adapter=adapter, content_type=fetched.content_type)

    async def snapshot(self, url: str, adapter: str = "auto") -> ParsedSnapshot:
        """Fetch and parse `url`. Raises `FetchError` or `ParseError`."""
        return self.parse(await self.fetch(url), adapter)

    async def apply(self, source: Source, snapshot: ParsedSnapshot) -> ApplyResult:
        """Normalize `snapshot` as `source`'s updates, store them in one transaction, tell the hub."""
        now = self._clock()
        drafts = normalize(snapshot, source_id=source.id, now=now)
        result = await self._store.apply(source.id, drafts, complete=snapshot.complete, now=now)
        if result.changed and self._hub is not None:
            await self._hub.publish(result.timeline_id, result.last_seq)
        return result

    async def poll(self, source: Source) -> ApplyResult:
        """Fetch, parse, normalize and store `source` once, unconditionally ("poll now")."""
        return await self.apply(source, await self.snapshot(source.url, source.adapter))
