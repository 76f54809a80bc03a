"""PostgresHub against the real PostgreSQL: two hubs stand for two processes.

Without a reachable PostgreSQL these tests skip, unless `CI` is set: then they fail. Each test uses its own
channel, so tests running at the same time on one server do not hear each other.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import make_url

from tests.conftest import POSTGRES_URL
from timeline.hub.postgres import PostgresHub, asyncpg_dsn, backoff_delay, format_payload, parse_payload

WAIT = 10.0  # seconds: a bound for things that normally take milliseconds, never an expected duration
DSN = asyncpg_dsn(POSTGRES_URL)

MakeHub = Callable[..., Awaitable[tuple[PostgresHub, "Recorder"]]]


class Recorder:
    """The callbacks of one hub: what arrived, and a way to wait for more."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, int]] = []
        self.resyncs = 0
        self._arrived = asyncio.Event()

    def on_change(self, timeline_id: str, seq: int) -> None:
        self.changes.append((timeline_id, seq))
        self._arrived.set()

    def on_resync(self) -> None:
        self.resyncs += 1
        self._arrived.set()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT):
            while not done():
                self._arrived.clear()
                await self._arrived.wait()

    async def until_changes(self, count: int) -> None:
        await self.until(lambda: len(self.changes) >= count)


async def _execute(sql: str, *args: object) -> None:
    conn = await asyncpg.connect(DSN, timeout=5)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


class Proxy:
    """A TCP relay to PostgreSQL that a test can stop (the server is unreachable) or freeze (connections
    stay open but go silent, as after a network fault)."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()
        self._flows: set[asyncio.Event] = set()

    @property
    def url(self) -> str:
        return make_url(POSTGRES_URL).set(host="127.0.0.1", port=self.port).render_as_string(False)

    async def start(self) -> None:
        """Accept connections, on the same port as before after a `stop`."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the port and every connection through it."""
        if self._server is not None:
            self._server.close()
        for relay in self._relays:
            relay.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)

    def freeze(self) -> None:
        """The open connections stop carrying bytes; new ones still work."""
        for flow in self._flows:
            flow.clear()

    async def _relay(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        target = make_url(POSTGRES_URL)
        relay, flow = asyncio.current_task(), asyncio.Event()
        assert relay is not None
        self._relays.add(relay)
        self._flows.add(flow)
        flow.set()
        try:
            server_in, server_out = await asyncio.open_connection(target.host, target.port or 5432)
            try:
                await asyncio.gather(_pipe(client_in, server_out, flow), _pipe(server_in, client_out, flow))
            finally:
                server_out.close()
        except asyncio.CancelledError:
            pass  # by `stop()`: asyncio's server (3.11) would log a cancelled handler as an error
        finally:
            client_out.close()
            self._relays.discard(relay)
            self._flows.discard(flow)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, flow: asyncio.Event) -> None:
    try:
        while data := await source.read(65536):
            await flow.wait()
            sink.write(data)
            await sink.drain()
    finally:
        sink.close()  # the other side sees the end too


@pytest.fixture
async def channel() -> str:
    """A fresh channel, or skip (under CI: fail) when the server cannot be reached."""
    try:
        await _execute("SELECT 1")
    except (OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {DSN.rpartition('@')[2]} is unreachable: {exc!r}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)
    return f"tl_test_{secrets.token_hex(6)}"


@pytest.fixture
async def proxy(channel: str) -> AsyncIterator[Proxy]:
    relay = Proxy()
    await relay.start()
    yield relay
    await relay.stop()


@pytest.fixture
async def make_hub(channel: str) -> AsyncIterator[MakeHub]:
    """Started hubs on the test's channel, all closed afterwards."""
    hubs: list[PostgresHub] = []

    async def make(url: str = POSTGRES_URL, **options: object) -> tuple[PostgresHub, Recorder]:
        hub = PostgresHub(url, channel=channel, **options)  # type: ignore[arg-type]
        hubs.append(hub)
        recorder = Recorder()
        await hub.start(recorder.on_change, recorder.on_resync)
        return hub, recorder

    yield make
    for hub in hubs:
        await hub.close()


@pytest.mark.postgres
async def test_a_burst_reaches_every_hub_in_order(make_hub: MakeHub) -> None:
    first, heard_by_first = await make_hub()
    _, heard_by_second = await make_hub()
    sent = [("tl_burst", seq) for seq in range(1, 201)]
    for timeline_id, seq in sent:
        await first.publish(timeline_id, seq)
    for recorder in (heard_by_first, heard_by_second):
        await recorder.until_changes(len(sent))
        assert recorder.changes == sent
        assert recorder.resyncs == 0


@pytest.mark.postgres
async def test_a_terminated_listener_reconnects_and_asks_for_resync(make_hub: MakeHub) -> None:
    hub, heard = await make_hub(heartbeat=60.0)  # the termination listener must notice, not the heartbeat
    old_pid = hub.listener_pid
    await _execute("SELECT pg_terminate_backend($1)", old_pid)
    await heard.until(lambda: heard.resyncs > 0)
    assert hub.listener_pid not in (None, old_pid)
    await hub.publish("tl_after", 3)
    await heard.until_changes(1)
    assert heard.changes == [("tl_after", 3)]
    assert heard.resyncs == 1


@pytest.mark.postgres
async def test_the_heartbeat_notices_a_silent_listener(proxy: Proxy, make_hub: MakeHub) -> None:
    hub, heard = await make_hub(proxy.url, heartbeat=0.1, reconnect_backoff=(0.05, 0.2))
    proxy.freeze()  # no FIN, no RST: only an unanswered heartbeat can tell
    await heard.until(lambda: heard.resyncs > 0)
    await hub.publish("tl_after", 1)
    await heard.until_changes(1)
    assert heard.changes == [("tl_after", 1)]


@pytest.mark.postgres
async def test_an_unreachable_server_is_retried_until_it_returns(
    proxy: Proxy, make_hub: MakeHub, caplog: pytest.LogCaptureFixture
) -> None:
    hub, heard = await make_hub(proxy.url, heartbeat=60.0, reconnect_backoff=(0.05, 0.2))
    await proxy.stop()
    async with asyncio.timeout(WAIT):
        while sum("reconnect attempt" in r.getMessage() for r in caplog.records) < 3:
            await asyncio.sleep(0.05)
    assert heard.resyncs == 0  # nothing to re-read before we listen again
    await proxy.start()
    await heard.until(lambda: heard.resyncs > 0)
    await hub.publish("tl_back", 5)
    await heard.until_changes(1)
    assert (heard.changes, heard.resyncs) == ([("tl_back", 5)], 1)


@pytest.mark.postgres
async def test_publishing_survives_a_lost_publisher_connection(make_hub: MakeHub) -> None:
    hub, heard = await make_hub()
    await hub.publish("tl_a", 1)
    old_pid = hub.publisher_pid
    await _execute("SELECT pg_terminate_backend($1)", old_pid)
    await hub.publish("tl_a", 2)
    await heard.until_changes(2)
    assert heard.changes == [("tl_a", 1), ("tl_a", 2)]
    assert hub.publisher_pid not in (None, old_pid)


@pytest.mark.postgres
async def test_malformed_payloads_are_ignored(
    make_hub: MakeHub, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    hub, heard = await make_hub()
    garbage = ["", "garbage", "tl_x seven", "tl_x 1 2", "tl_x -1", "tl_x\t1", " 1", "tl_x ١"]
    for payload in [*garbage, "tl_ok 7"]:
        await _execute("SELECT pg_notify($1, $2)", channel, payload)
    await heard.until_changes(1)
    await hub.publish("tl_ok", 8)
    await heard.until_changes(2)
    assert heard.changes == [("tl_ok", 7), ("tl_ok", 8)]
    malformed = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(malformed) == len(garbage)
    assert all(r.levelno == logging.WARNING for r in malformed)


@pytest.mark.postgres
async def test_close_is_idempotent_and_ends_delivery(make_hub: MakeHub) -> None:
    tasks_before = asyncio.all_tasks()
    other, heard_by_other = await make_hub()
    tasks_with_other = asyncio.all_tasks()
    closing, heard_by_closed = await make_hub()
    await closing.close()
    await closing.close()
    assert asyncio.all_tasks() == tasks_with_other
    assert closing.listener_pid is None and closing.publisher_pid is None
    await closing.publish("tl_a", 1)  # a no-op once closed
    await other.publish("tl_a", 2)
    await heard_by_other.until_changes(1)
    # `other` heard its publish, so the closed hub would have heard it by now if it still listened.
    assert heard_by_other.changes == [("tl_a", 2)]
    assert heard_by_closed.changes == []
    await other.close()
    assert asyncio.all_tasks() == tasks_before


async def test_start_fails_loudly_on_an_unreachable_server() -> None:
    hub = PostgresHub("postgresql+asyncpg://postgres@127.0.0.1:1/postgres")
    with pytest.raises(OSError):
        await hub.start(lambda timeline_id, seq: None, lambda: None)
    await hub.close()
    await hub.close()


def test_dsn_accepts_sqlalchemy_urls_and_refuses_other_databases() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://u:p@h:5432/db?x=1") == "postgresql://u:p@h:5432/db?x=1"
    assert asyncpg_dsn("postgres://h/db") == "postgres://h/db"
    for url in ("sqlite+aiosqlite:///x.db", "127.0.0.1:5432"):
        with pytest.raises(ValueError):
            PostgresHub(url)


def test_payloads_round_trip_and_only_well_formed_ones_parse() -> None:
    assert parse_payload(format_payload("tl_abc", 42)) == ("tl_abc", 42)
    assert parse_payload("tl_abc 0042") == ("tl_abc", 42)
    for bad in ("", "tl_a", "tl_a 1 ", "tl_a  1", "tl_a 99999999999999999999", "tl a 1"):
        assert parse_payload(bad) is None
    for timeline_id, seq in (("tl a", 1), ("", 1), ("tl_a", -1)):
        with pytest.raises(ValueError):
            format_payload(timeline_id, seq)


def test_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half() -> None:
    for attempt, ceiling in ((0, 0.2), (1, 0.4), (3, 1.6), (5, 5.0), (10_000, 5.0)):
        for _ in range(50):
            assert ceiling / 2 <= backoff_delay(attempt, 0.2, 5.0) <= ceiling
