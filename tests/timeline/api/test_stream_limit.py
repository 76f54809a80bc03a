"""`TIMELINE_MAX_STREAMS` holds against a burst: a real `timeline api` process, hundreds of raw connections
opened at once, and no more streams served than the limit; every stream that ends frees its place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import orjson
import pytest

from tests.timeline.api.processes import Served, api_process
from tests.timeline.api.support import AUTH, PROBLEM

LIMIT = 50
BURST = 300


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with api_process(tmp_path_factory.mktemp("streams"), TIMELINE_MAX_STREAMS=str(LIMIT)) as running:
        httpx.post(
            f"{running.url}/api/v1/timelines", json={"title": "Burst"}, headers=AUTH
        ).raise_for_status()
        yield running


class Opened:
    """A raw connection whose response head has been read; closed when the burst is over."""

    def __init__(
        self, status: int, headers: dict[str, str], writer: asyncio.StreamWriter, head: bytes
    ) -> None:
        self.status, self.headers, self.writer, self.rest = status, headers, writer, head

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def _open(port: int, path: str) -> Opened:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    await writer.drain()
    received = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    status_line, *lines = received.decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines if line)
    }
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    return Opened(int(status_line.split()[1]), headers, writer, body)


@pytest.fixture
async def burst() -> AsyncIterator[list[Opened]]:
    """Connections to close once the test is done with them, however it ends."""
    opened: list[Opened] = []
    yield opened
    await asyncio.gather(*(connection.close() for connection in opened), return_exceptions=True)


async def _burst(served: Served, path: str, count: int, opened: list[Opened]) -> list[int]:
    found = await asyncio.gather(*(_open(served.port, path) for _ in range(count)))
    opened.extend(found)
    return [connection.status for connection in found]


async def test_a_burst_gets_no_more_streams_than_the_limit(served: Served, burst: list[Opened]) -> None:
    statuses = await _burst(served, "/api/v1/timelines/burst/stream", BURST, burst)
    assert statuses.count(200) == LIMIT and statuses.count(503) == BURST - LIMIT, sorted(set(statuses))
    refused = next(connection for connection in burst if connection.status == 503)
    assert refused.headers["content-type"] == PROBLEM and refused.headers["retry-after"]
    assert orjson.loads(refused.rest)["type"].endswith("/too_many_streams")


async def test_every_way_a_stream_ends_frees_its_place(served: Served, burst: list[Opened]) -> None:
    """Streams that ended (closed by their reader) and requests refused after the reservation (an unknown
    timeline) leave every place free for the next burst."""
    missing = await _burst(served, "/api/v1/timelines/no-such-timeline/stream", BURST, burst)
    assert 404 in missing and set(missing) <= {404, 503}  # a place is held while the timeline is looked up
    for _ in range(2):
        await asyncio.gather(*(connection.close() for connection in burst))
        burst.clear()
        statuses = await _eventually_all_free(served, burst)
        assert statuses.count(200) == LIMIT and statuses.count(503) == BURST - LIMIT


async def _eventually_all_free(served: Served, opened: list[Opened]) -> list[int]:
    """A burst's statuses once the server has seen the previous streams go (it notices a closed
    connection on its next read, within moments)."""
    for _ in range(50):
        statuses = await _burst(served, "/api/v1/timelines/burst/stream", BURST, opened)
        if statuses.count(200) == LIMIT:
            return statuses
        await asyncio.gather(*(connection.close() for connection in opened))
        opened.clear()
        await asyncio.sleep(0.2)
    return statuses
