"""Reading a source: robots.txt, one polite GET, then parsing in the worker pool. No database."""

from __future__ import annotations

from datetime import datetime

from feeds.fetch import Fetcher, FetchResult
from timeline.poller.parsing import Parsed, ParseJob, ParsePool
from timeline.poller.robots import Robots


class Reader:
    """Turns a URL into bytes and bytes into drafts, the two halves of every poll.

    `timeline poll` uses it alone; every other way of polling goes through `timeline.poller.poll`, which
    adds the store. Parsing never runs on the caller's event loop: it goes to `parser`'s workers.
    """

    def __init__(self, fetcher: Fetcher, parser: ParsePool, *, robots: Robots | None = None) -> None:
        self._fetcher = fetcher
        self._parser = parser
        self._robots = robots

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """One conditional GET, after checking robots.txt. Raises `FetchError`."""
        if self._robots is not None:
            await self._robots.check(url)
        return await self._fetcher.fetch(url, etag=etag, last_modified=last_modified)

    async def parse(
        self,
        fetched: FetchResult,
        *,
        source_id: str,
        adapter: str,
        now: datetime,
        known: frozenset[str] = frozenset(),
    ) -> Parsed:
        """`fetched`'s body as the drafts of `source_id`, but for the updates whose raw hash is `known`.
        Raises `ParseError` (with a message for humans)."""
        job = ParseJob(fetched.body, fetched.final_url, source_id, now, adapter, fetched.content_type, known)
        return await self._parser.parse(job)
