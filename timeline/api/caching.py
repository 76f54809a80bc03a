"""Cheap polling: ETags from a timeline's `last_seq`, 304s without the database, pre-rendered pages.

Every read of a timeline is a pure function of (timeline, last_seq, query), so `last_seq` is the only
thing a poll must learn. `SeqCache` keeps it per timeline in memory: updated on every local write and
re-read from the store at most once per `max_age` seconds otherwise (writes by poller processes reach
us that way). `PageCache` keeps rendered response bodies under the seq they were rendered at.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from timeline.api.compression import BROTLI, GZIP, Accepted, Headers, compress, recode

# Bump when the JSON shape of a response changes, so clients' cached ETags stop matching.
REPRESENTATION = "2"  # 2: events carry `note` and `hidden` (migration 0006)
CACHE_CONTROL = "public, max-age=2, stale-while-revalidate=30"


@dataclass(frozen=True, slots=True)
class SeqEntry:
    timeline_id: str
    last_seq: int
    checked_at: float


SeqLoader = Callable[[str], Awaitable[tuple[str, int]]]


class SeqCache:
    """`(timeline id, last_seq)` by id or slug, re-read from the store at most once per `max_age` s."""

    def __init__(self, load: SeqLoader, *, max_age: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._load = load
        self._max_age = max_age
        self._clock = clock
        self._entries: dict[str, SeqEntry] = {}
        self._refreshing: set[str] = set()

    def fresh(self, key: str) -> SeqEntry | None:
        """The entry for `key` if it needs no re-read: what a request may answer from without a query."""
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry.checked_at <= self._max_age:
            return entry
        return None

    async def get(self, key: str) -> SeqEntry:
        """The entry for `key`; one request re-reads a stale one while the others keep using it, so a
        burst of polls costs one query per second, not one each."""
        entry = self._entries.get(key)
        if entry is not None and (
            self._clock() - entry.checked_at <= self._max_age or key in self._refreshing
        ):
            return entry
        self._refreshing.add(key)
        try:
            timeline_id, last_seq = await self._load(key)
        finally:
            self._refreshing.discard(key)
        return self._remember(key, timeline_id, last_seq)

    def advance(self, timeline_id: str, last_seq: int) -> None:
        """A local write moved `timeline_id` to `last_seq`: every key naming it learns so now."""
        for key, entry in list(self._entries.items()):
            if entry.timeline_id == timeline_id and entry.last_seq < last_seq:
                self._remember(key, timeline_id, last_seq)

    def forget(self, timeline_id: str) -> None:
        for key in [k for k, e in self._entries.items() if e.timeline_id == timeline_id]:
            del self._entries[key]

    def _remember(self, key: str, timeline_id: str, last_seq: int) -> SeqEntry:
        entry = SeqEntry(timeline_id, last_seq, self._clock())
        self._entries[key] = entry
        return entry


CacheKey = tuple[str, str, str]  # timeline id, route template, raw query string


def etag(entry: SeqEntry, key: CacheKey) -> str:
    """A strong ETag for one representation of a timeline at one seq."""
    _timeline, route, query = key
    return f'"{REPRESENTATION}.{entry.timeline_id}.{entry.last_seq}.{_digest(route, query)}"'


@functools.lru_cache(maxsize=4096)  # polled URLs come round again and again; a hash is not free
def _digest(route: str, query: str) -> str:
    return hashlib.blake2b(f"{route}?{query}".encode(), digest_size=6).hexdigest()


def matched(if_none_match: str | None, tag: str) -> str | None:
    """RFC 9110 §13.1.2, compared weakly: the tag of ours that `If-None-Match` names (`tag`, or the tag
    of one of its coded representations, so that each revalidates to a 304 naming itself), `tag` for
    `*`, None when it names none of them."""
    if not if_none_match:
        return None
    stem = tag[:-1]
    for listed in if_none_match.split(","):
        candidate = listed.strip().removeprefix("W/")
        if candidate == tag or candidate == "*":
            return tag
        if candidate.startswith(stem) and candidate[len(stem) :] in _CODED_ENDINGS:
            return candidate
    return None


_CODED_ENDINGS = frozenset(f'-{coding}"' for coding in (GZIP, BROTLI))


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a read renders: the body at `last_seq`, its media type and any extra headers (e.g. `Link`)."""

    last_seq: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class Sendable(Protocol):
    """A response body and every header of it, encoded, ready to send as they are."""

    @property
    def body(self) -> bytes: ...

    @property
    def headers(self) -> Sequence[tuple[bytes, bytes]]: ...


@dataclass(frozen=True, slots=True)
class Representation:
    body: bytes
    headers: Headers


@dataclass(frozen=True, slots=True)
class Stored:
    """A rendered response at `last_seq`, ready to send as it is (every header encoded), and its
    content codings.

    A coding is made the first time a request accepts it, then kept beside the original: a page read
    once by a client that asked for none costs no compression, and a hot page is compressed once per
    coding, not per request. Nothing that serves an entry changes what it sends: the original and each
    coding, once made, are immutable bytes and header tuples.
    """

    last_seq: int
    body: bytes
    headers: Sequence[tuple[bytes, bytes]]
    codings: dict[str, Representation] = field(default_factory=dict, repr=False, compare=False)

    def representation(self, accepted: Accepted) -> Sendable:
        """What to send a request that accepts `accepted`."""
        coding = accepted.choose(len(self.body))
        return self if coding is None else self.coded(coding)

    def coded(self, coding: str, *, best: bool = False) -> Representation:
        found = self.codings.get(coding)
        if found is None:
            body = compress(self.body, coding, best=best)
            found = self.codings[coding] = Representation(body, recode(self.headers, coding, len(body)))
        return found


class PageCache:
    """Responses by (timeline id, route, query), valid while the timeline's seq has not moved.

    Bounded LRU: hot first pages stay, one-off deep pages age out.
    """

    def __init__(self, max_entries: int = 1024) -> None:
        self._max = max_entries
        self._entries: OrderedDict[CacheKey, Stored] = OrderedDict()

    def get(self, key: CacheKey, last_seq: int) -> Stored | None:
        found = self._entries.get(key)
        if found is None or found.last_seq != last_seq:
            return None
        self._entries.move_to_end(key)
        return found

    def put(self, key: CacheKey, stored: Stored) -> None:
        self._entries[key] = stored
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
