"""Clients of the scale test: SSE followers that reconnect like browsers do, and full `changes` replays."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.timeline.live.sse import WAIT, Message, Stream

RECONNECT_EVERY = 0.2  # seconds between attempts, as a browser's `retry:` would be


@dataclass(frozen=True)
class Seen:
    """One change as a client sees it; a deletion carries no content, so only its id."""

    seq: int
    kind: str  # upsert | delete
    event_id: str
    source_id: str | None
    upstream_id: str | None
    body_text: str | None


def seen_in_message(message: Message) -> Seen:
    return _seen(message.seq, message.event, message.json())


def seen_in_change(change: dict[str, Any]) -> Seen:
    return _seen(change["seq"], change["kind"], change["event"])


def _seen(seq: int, kind: str, event: dict[str, Any]) -> Seen:
    fields = (event.get(name) for name in ("source_id", "upstream_id", "body_text"))
    return Seen(seq, kind, event["id"], *fields)


def latest(changes: list[Seen]) -> dict[str, Seen]:
    """Each event's latest change."""
    found: dict[str, Seen] = {}
    for change in sorted(changes, key=lambda c: c.seq):
        found[change.event_id] = change
    return found


class Follower:
    """One reader of a timeline's stream: `since=0` first, then `Last-Event-ID` after every disconnect,
    to whichever API `base` names at that moment (a test points it elsewhere before killing a server)."""

    def __init__(self, base: str, slug: str) -> None:
        self.base = base
        self.slug = slug
        self.segments: list[tuple[str, Stream]] = []  # (API base, stream), one per connection
        self._task: asyncio.Task[None] | None = None

    @property
    def messages(self) -> list[Message]:
        return [m for _, stream in self.segments for m in stream.messages]

    def seen(self) -> list[Seen]:
        return [seen_in_message(m) for m in self.messages]

    async def __aenter__(self) -> Follower:
        self._task = asyncio.create_task(self._follow())
        await eventually(lambda: _async(bool(self.segments)), f"a stream of {self.slug}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _follow(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(WAIT, read=None)) as http:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    await self._connect_once(http)
                await asyncio.sleep(RECONNECT_EVERY)

    async def _connect_once(self, http: httpx.AsyncClient) -> None:
        messages = self.messages
        resume = {"headers": {"Last-Event-ID": messages[-1].id}} if messages else {"params": {"since": 0}}
        url = f"{self.base}/api/v1/timelines/{self.slug}/stream"
        async with http.stream("GET", url, **resume) as response:  # type: ignore[arg-type]
            if response.status_code != 200:
                return
            stream = Stream(response)
            self.segments.append((self.base, stream))
            await stream.read()

    async def until_seq(self, seq: int) -> None:
        def reached() -> bool:
            messages = self.messages
            return bool(messages) and messages[-1].seq >= seq

        await eventually(lambda: _async(reached()), f"seq {seq} on the stream of {self.slug}")


async def replay(http: httpx.AsyncClient, slug: str) -> list[Seen]:
    """Every change of the timeline, from seq 0, as `GET …/changes` pages them."""
    found: list[Seen] = []
    since = 0
    while True:
        response = await http.get(f"/api/v1/timelines/{slug}/changes", params={"since": since, "limit": 1000})
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["changes"]:
            return found
        found += [seen_in_change(change) for change in page["changes"]]
        since = page["next_since"]


async def _async(value: bool) -> bool:
    return value


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = WAIT) -> None:
    """Wait until `check()` holds, looking again every 0.1 s; fail naming `what` after `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"no {what} within {timeout} s") from None
