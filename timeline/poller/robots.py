"""robots.txt, fetched once per host and day, and checked before every upstream request.

Rules are read by protego, which follows RFC 9309 as the standard library's `urllib.robotparser` does
not: the longest matching rule wins (so `Disallow: /` with `Allow: /live/` allows `/live/x`), and `*`
and `$` are patterns (so `Disallow: /*.json$` forbids `/api/blog.json`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from protego import Protego

from feeds.errors import HTTPStatusError, RefusedAddressError
from feeds.fetch import Fetcher

TTL = 86_400.0
# Parsers must read at least 500 KiB of a robots.txt (RFC 9309); reading no more keeps parsing it short
# on the event loop whatever a host serves there.
MAX_ROBOTS_BYTES = 500 * 1024


class RobotsDisallowedError(RefusedAddressError):
    kind = "fetch.robots_disallowed"


class Robots:
    """Per-host robots.txt rules for our User-Agent.

    RFC 9309 §2.3.1: a 4xx robots.txt means no rules; a 5xx or an unreachable one means "disallow all"
    until it can be read, which we retry at the next poll rather than caching for a day.
    """

    def __init__(
        self, fetcher: Fetcher, user_agent: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetcher = fetcher
        self._agent = user_agent.split("/", 1)[0]  # rules name the product token, not the whole header
        self._clock = clock
        self._rules: dict[str, tuple[Protego, float]] = {}
        self._reading: dict[str, asyncio.Task[Protego]] = {}

    async def check(self, url: str) -> None:
        """Raise `RobotsDisallowedError` when robots.txt of `url`'s host disallows it for us."""
        rules = await self._rules_for(url)
        if not rules.can_fetch(url, self._agent):
            raise RobotsDisallowedError(
                f"{url} is disallowed by the site's robots.txt; set TIMELINE_RESPECT_ROBOTS=0 only for "
                "sources you are allowed to poll",
                url=url,
            )

    async def _rules_for(self, url: str) -> Protego:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._rules.get(origin)
        if cached is not None and self._clock() - cached[1] < TTL:
            return cached[0]
        # Single flight: the first polls of a new host all wait for one robots.txt request.
        reading = self._reading.get(origin)
        if reading is None:
            reading = asyncio.create_task(self._refresh(origin))
            self._reading[origin] = reading
            reading.add_done_callback(lambda done: self._forget(origin, done))
        # Shielded: a cancelled poll must not cancel the read the others are waiting for.
        return await asyncio.shield(reading)

    def _forget(self, origin: str, done: asyncio.Task[Protego]) -> None:
        del self._reading[origin]
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every poll waiting for it was cancelled

    async def _refresh(self, origin: str) -> Protego:
        rules = await self._read(origin + "/robots.txt")
        self._rules[origin] = (rules, self._clock())
        return rules

    async def _read(self, robots_url: str) -> Protego:
        try:
            fetched = await self._fetcher.fetch(robots_url)
        except HTTPStatusError as exc:
            if exc.status >= 500:
                raise
            return Protego.parse("")  # no rules: everything allowed
        return Protego.parse(fetched.body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace"))
