"""A load process for bench/sse.py: N raw SSE clients of one timeline, each receipt timed.

    python -m bench._sse_load --port P --timeline ID --clients N --out FILE

Clients are plain asyncio protocols with httptools parsing the chunked response (an httpx client per
connection would cost the load process more than the server). Once every client holds its stream (the
`retry:` hint arrived) it prints `connected OK FAILED`. Then from stdin: `wait SEQ TIMEOUT` waits until
every open client has SEQ and prints `reached COUNT`; `stop` (or end of input) writes every receipt
(client, seq, time.time()) to FILE and prints `stopped CLOSED` (clients the server disconnected
meanwhile). Times are this host's wall clock, comparable to the writer's commit times.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from array import array
from pathlib import Path

import httptools
import orjson
import uvloop

CONNECTING = 200  # connections being opened at once: stays well inside the server's listen backlog
CONNECT_TIMEOUT = 60.0


def raise_nofile() -> None:
    """The soft limit on open files up to the hard one: one descriptor per client."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Receipts:
    """Every (client, seq, time) this process saw, in flat arrays: 20 bytes per receipt."""

    def __init__(self) -> None:
        self.held = array("i")  # the clients whose stream opened
        self.clients = array("i")
        self.seqs = array("q")
        self.times = array("d")

    def add(self, client: int, seq: int, at: float) -> None:
        self.clients.append(client)
        self.seqs.append(seq)
        self.times.append(at)

    def dump(self, path: Path) -> None:
        with path.open("wb") as out:
            out.write(orjson.dumps({"held": len(self.held), "count": len(self.seqs)}) + b"\n")
            self.held.tofile(out)
            for column in (self.clients, self.seqs, self.times):
                column.tofile(out)


def load_receipts(path: Path) -> Receipts:
    receipts = Receipts()
    with path.open("rb") as source:
        head = orjson.loads(source.readline())
        receipts.held.fromfile(source, head["held"])
        count = head["count"]
        for column in (receipts.clients, receipts.seqs, receipts.times):
            column.fromfile(source, count)
    return receipts


class Client(asyncio.Protocol):
    """One SSE connection: sends the request, then records the seq of every `id:` frame it receives."""

    def __init__(self, index: int, request: bytes, receipts: Receipts) -> None:
        self.index = index
        self.request = request
        self.receipts = receipts
        self.parser = httptools.HttpResponseParser(self)
        self.ready = asyncio.get_running_loop().create_future()
        self.status = 0
        self.last = 0  # the highest seq received
        self.closed = False
        self._buffer = b""
        self._now = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]  # uvloop's is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self._now = time.time()
        self.parser.feed_data(data)

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if self.status != 200 and not self.ready.done():
            self.ready.set_result(False)

    def on_body(self, body: bytes) -> None:
        buffer = self._buffer + body if self._buffer else body
        start = 0
        while (end := buffer.find(b"\n\n", start)) >= 0:
            if buffer.startswith(b"id: ", start):
                self.last = int(buffer[start + 4 : buffer.index(b"\n", start)])
                self.receipts.add(self.index, self.last, self._now)
            elif buffer.startswith(b"retry:", start) and not self.ready.done():
                self.ready.set_result(True)
            start = end + 2
        self._buffer = buffer[start:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_result(False)


async def _connect(
    index: int, port: int, request: bytes, receipts: Receipts, gate: asyncio.Semaphore
) -> Client | None:
    loop = asyncio.get_running_loop()
    async with gate:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                _transport, client = await loop.create_connection(
                    lambda: Client(index, request, receipts), "127.0.0.1", port
                )
                return client if await client.ready else None
        except (OSError, TimeoutError):
            return None


async def run(port: int, timeline: str, clients: int, first: int, out: Path) -> None:
    request = (
        f"GET /api/v1/timelines/{timeline}/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    receipts, gate = Receipts(), asyncio.Semaphore(CONNECTING)
    opened = await asyncio.gather(
        *(_connect(first + i, port, request, receipts, gate) for i in range(clients))
    )
    held = [client for client in opened if client is not None]
    receipts.held.extend(client.index for client in held)
    _say(f"connected {len(held)} {clients - len(held)}")
    loop = asyncio.get_running_loop()
    while (line := await loop.run_in_executor(None, sys.stdin.readline)).startswith("wait "):
        _verb, seq, timeout = line.split()
        _say(f"reached {await _reached(held, int(seq), float(timeout))}")
    receipts.dump(out)
    _say(f"stopped {sum(client.closed for client in held)}")


async def _reached(held: list[Client], seq: int, timeout: float) -> int:
    """Wait until every open client has received `seq` (at most `timeout` s); how many have."""
    deadline = time.monotonic() + timeout
    while (behind := sum(c.last < seq and not c.closed for c in held)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return len(held) - behind


def _say(line: str) -> None:
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeline", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--first", type=int, default=0, help="Index of this process's first client.")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    raise_nofile()
    uvloop.run(run(args.port, args.timeline, args.clients, args.first, args.out))


if __name__ == "__main__":
    main()
