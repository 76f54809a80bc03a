"""A real SSE client for the live tests: messages parsed per the WHATWG event-stream rules, read in the
background so a test can wait for "seq N arrived" or "the stream ended" within a bound.

`stalled_reader` is the opposite: a raw socket that sends the request and then never reads.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

WAIT = 15.0  # seconds: a bound for what normally takes a second or two, never an expected duration


@dataclass(frozen=True)
class Message:
    """One dispatched SSE event."""

    id: str | None
    event: str
    data: str

    @property
    def seq(self) -> int:
        assert self.id is not None, self
        return int(self.id)

    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = orjson.loads(self.data)
        return loaded


@dataclass
class Parser:
    """Lines in, messages out; remembers `retry:` and comments (keep-alives)."""

    retry: int | None = None
    comments: list[str] = field(default_factory=list)
    _id: str | None = None
    _event: str = ""
    _data: list[str] = field(default_factory=list)

    def feed(self, line: str) -> Message | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments.append(line[1:].strip())
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)
        return None

    def _dispatch(self) -> Message | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return Message(self._id, event or "message", "\n".join(data))


class Stream:
    """One open SSE response, read by a background task into `messages`."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.parser = Parser()
        self.messages: list[Message] = []
        self.ended = asyncio.Event()
        self.ended_cleanly = False  # the server finished the response, rather than cutting it off
        self._changed = asyncio.Event()

    @property
    def seqs(self) -> list[int]:
        return [m.seq for m in self.messages]

    @property
    def last_id(self) -> str:
        assert self.messages, "no message yet"
        last = self.messages[-1].id
        assert last is not None
        return last

    async def read(self) -> None:
        try:
            async for line in self.response.aiter_lines():
                message = self.parser.feed(line)
                if message is not None:
                    self.messages.append(message)
                self._changed.set()
            self.ended_cleanly = True
        except httpx.RemoteProtocolError:
            pass  # the connection closed before the response was complete: an end, not a clean one
        finally:
            self.ended.set()
            self._changed.set()

    async def until(self, done: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        """Wait until `done()`; fail naming `what` if it takes longer than `timeout` or the stream ends."""
        try:
            async with asyncio.timeout(timeout):
                while not done():
                    if self.ended.is_set():
                        raise AssertionError(f"the stream ended before {what}; got {self.seqs}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"no {what} within {timeout} s; got {self.seqs}") from None

    async def until_count(self, count: int) -> list[Message]:
        await self.until(lambda: len(self.messages) >= count, f"{count} messages")
        return self.messages[:count]

    async def until_seq(self, seq: int) -> None:
        await self.until(lambda: bool(self.messages) and self.messages[-1].seq >= seq, f"seq {seq}")

    async def until_end(self, timeout: float = WAIT) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self.ended.wait()
        except TimeoutError:
            raise AssertionError(f"the stream did not end within {timeout} s") from None


@asynccontextmanager
async def listen(
    base_url: str, timeline: str, *, since: int | None = None, last_event_id: str | None = None
) -> AsyncIterator[Stream]:
    """A connected stream: its 200 head and `retry:` hint have arrived, so the server holds it open."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    params = {"since": since} if since is not None else {}
    timeout = httpx.Timeout(WAIT, read=None)  # idle streams only carry a ping every 15 s
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=timeout) as http,
        http.stream(
            "GET", f"/api/v1/timelines/{timeline}/stream", headers=headers, params=params
        ) as response,
    ):
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        reading = asyncio.create_task(stream.read())
        try:
            await stream.until(lambda: stream.parser.retry is not None, "the retry hint")
            yield stream
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)


@contextmanager
def stalled_reader(base_url: str, timeline: str, *, receive_buffer: int = 4096) -> Iterator[socket.socket]:
    """A client that asks for the stream and then never reads a byte of it."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # Before connecting, so the advertised window stays small and the server's buffers fill up.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(WAIT)
        sock.connect((parts.hostname, parts.port))
        request = f"GET /api/v1/timelines/{timeline}/stream HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n"
        sock.sendall(request.encode())
        yield sock
    finally:
        sock.close()
