"""The cross-process hub: PostgreSQL `LISTEN/NOTIFY` on one channel, payload `"<timeline id> <seq>"`.

Two connections per hub: a dedicated listener (a LISTENing session must not be shared, or a pool could hand
it to a query) and a lazily opened publisher. The listener is watched by a supervisor task: asyncpg's
termination listener reports a closed connection at once, and a heartbeat (`SELECT 1` with a timeout)
catches connections that died silently (half-open TCP). On loss it reconnects with exponential backoff and
jitter, LISTENs again, and then calls `on_resync()` once, because notifications sent during the gap are
lost for good (PostgreSQL keeps no backlog for absent listeners).

We publish right *after* the store's writing transaction commits, not inside it (the store owns that
transaction). A crash between commit and publish therefore loses a notification; readers still see the
change at their next periodic check of `last_seq` (the API's fan-out does one every second).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from timeline.hub import OnChange, OnResync

log = logging.getLogger("timeline.hub")

CONNECT_TIMEOUT = 5.0  # seconds to open a connection
QUERY_TIMEOUT = 5.0  # seconds for one pg_notify
CLOSE_TIMEOUT = 2.0  # seconds for a graceful close before aborting

# A short timeline id without whitespace, one space, a non-negative bigint (`re.ASCII`: no Unicode digits).
# NOTIFY payloads must stay under 8000 bytes; ours are a few dozen.
_PAYLOAD = re.compile(r"(\S{1,200}) ([0-9]{1,18})", re.ASCII)
# What asyncpg raises when a connection or query fails: the reasons we reconnect or retry for. An idle
# connection whose backend was terminated can raise InternalClientError ("cannot switch to state …") on its
# next query, before it knows that it is closed.
_DB_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def asyncpg_dsn(url: str) -> str:
    """asyncpg's DSN for a libpq URL or a SQLAlchemy one (`postgresql+asyncpg://…` → `postgresql://…`)."""
    scheme, sep, rest = url.partition("://")
    dialect = scheme.partition("+")[0]
    if not sep or dialect not in ("postgresql", "postgres"):
        raise ValueError(f"the postgres hub needs a postgresql:// URL, not {scheme or url!r}://…")
    return f"{dialect}://{rest}"


def format_payload(timeline_id: str, seq: int) -> str:
    payload = f"{timeline_id} {seq}"
    if not _PAYLOAD.fullmatch(payload):
        raise ValueError(f"cannot notify timeline {timeline_id!r} at seq {seq!r}")
    return payload


def parse_payload(payload: str) -> tuple[str, int] | None:
    """(timeline id, seq), or None for anything that `format_payload` would not have produced."""
    match = _PAYLOAD.fullmatch(payload)
    return None if match is None else (match[1], int(match[2]))


def backoff_delay(attempt: int, low: float, high: float) -> float:
    """Seconds to wait before reconnect `attempt` (0, 1, …): doubling from `low` up to `high`, the upper half
    random so that many processes losing the server together do not reconnect in lockstep."""
    ceiling = min(high, low * 2.0 ** min(attempt, 32))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class PostgresHub:
    """Notifications between processes through one PostgreSQL channel.

    `start` raises if the first connection fails, so that a wrong URL stops startup; after that, connection
    problems are logged and repaired, never raised. `publish` works without `start` (a worker only publishes).
    """

    def __init__(
        self,
        dsn: str,
        *,
        channel: str = "timeline_changes",
        heartbeat: float = 5.0,
        reconnect_backoff: tuple[float, float] = (0.2, 5.0),
    ) -> None:
        low, high = reconnect_backoff
        if heartbeat <= 0 or not 0 < low <= high:
            raise ValueError("heartbeat and reconnect_backoff must be positive, with low <= high")
        self._dsn = asyncpg_dsn(dsn)
        self._channel = channel
        self._heartbeat = heartbeat
        self._backoff = (low, high)
        self._on_change: OnChange | None = None
        self._on_resync: OnResync | None = None
        self._listener: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._publisher: asyncpg.Connection | None = None
        self._publishing = asyncio.Lock()  # one pg_notify at a time keeps this process's publishes in order
        self._started = self._closed = False

    @property
    def listener_pid(self) -> int | None:
        """The server process of the listener connection, for diagnostics and tests."""
        return None if self._listener is None else int(self._listener.get_server_pid())

    @property
    def publisher_pid(self) -> int | None:
        """The server process of the publisher connection, once a publish opened it."""
        return None if self._publisher is None else int(self._publisher.get_server_pid())

    async def start(self, on_change: OnChange, on_resync: OnResync) -> None:
        """LISTEN, deliver every notification to `on_change`, and keep the listener connected."""
        if self._started or self._closed:
            raise RuntimeError("a PostgresHub starts once, before close()")
        self._started = True
        self._on_change, self._on_resync = on_change, on_resync
        listener = await self._open_listener()
        if self._closed:  # close() ran while we connected
            await _close(listener)
            return
        self._listener = listener
        self._supervisor = asyncio.create_task(self._supervise(), name="timeline-hub-supervisor")

    async def publish(self, timeline_id: str, seq: int) -> None:
        """NOTIFY every hub on the channel. A database failure is logged, not raised: a lost notification
        only delays readers until their next resync. Does nothing once closed."""
        payload = format_payload(timeline_id, seq)
        async with self._publishing:
            # A second try on a fresh connection: the old one may predate a server restart. If the first
            # NOTIFY did get through, readers see a duplicate, which is harmless (they re-read by seq).
            for attempt in (1, 2):
                if self._closed:
                    return
                try:
                    await self._notify(payload)
                    return
                except _DB_ERRORS as exc:
                    self._drop_publisher()
                    if attempt == 2:
                        log.warning("hub could not publish %s: %r", payload, exc)

    async def close(self) -> None:
        """Stop listening and close both connections. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._on_change = self._on_resync = None
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        listener, self._listener = self._listener, None
        await _close(listener)
        async with self._publishing:
            publisher, self._publisher = self._publisher, None
            await _close(publisher)

    # -- publishing

    async def _notify(self, payload: str) -> None:
        if self._publisher is None or self._publisher.is_closed():
            self._publisher = await self._connect("publisher")
        await self._publisher.execute(
            "SELECT pg_notify($1, $2)", self._channel, payload, timeout=QUERY_TIMEOUT
        )

    def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            publisher.terminate()

    # -- listening

    async def _connect(self, role: str) -> asyncpg.Connection:
        # The role in application_name tells our sessions apart in pg_stat_activity.
        settings = {"application_name": f"timeline-hub-{role}"}
        return await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT, server_settings=settings)

    async def _open_listener(self) -> asyncpg.Connection:
        conn = await self._connect("listener")
        try:
            conn.add_termination_listener(self._on_terminated)
            await conn.add_listener(self._channel, self._on_notify)
        except BaseException:
            conn.terminate()
            raise
        return conn

    def _on_terminated(self, conn: asyncpg.Connection) -> None:
        # asyncpg also calls this for connections we closed ourselves; only the current one matters.
        if conn is self._listener and not self._closed:
            self._lost.set()

    def _on_notify(self, conn: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
        if self._on_change is None:  # closed; asyncpg may still have queued calls
            return
        parsed = parse_payload(payload)
        if parsed is None:
            log.warning("hub ignored a malformed notification on %s: %r", channel, payload[:100])
            return
        _call(self._on_change, *parsed)

    async def _supervise(self) -> None:
        while True:
            try:
                await self._recover(await self._watch())
            except Exception:  # a bug here must not end live updates for the life of the process
                log.exception("hub supervisor failed; retrying")
                await asyncio.sleep(self._backoff[1])

    async def _watch(self) -> str:
        """Wait until the listener is lost; return why."""
        while True:
            try:
                async with asyncio.timeout(self._heartbeat):
                    await self._lost.wait()
            except TimeoutError:
                reason = await self._ping()
                if reason is not None:
                    return reason
            else:
                return "connection closed"

    async def _ping(self) -> str | None:
        conn = self._listener
        if conn is None or conn.is_closed():
            return "connection closed"
        try:
            # A ping slower than the heartbeat interval (at least 1 s) counts as a dead connection.
            await conn.fetchval("SELECT 1", timeout=max(self._heartbeat, 1.0))
        except _DB_ERRORS as exc:
            return f"heartbeat failed: {exc!r}"
        return None

    async def _recover(self, reason: str) -> None:
        log.warning("hub listener lost (%s); reconnecting", reason)
        listener, self._listener = self._listener, None
        self._lost.clear()
        if listener is not None:
            listener.terminate()
        self._listener = await self._reconnect()
        log.info("hub listener reconnected; readers resync")
        if self._on_resync is not None:
            _call(self._on_resync)

    async def _reconnect(self) -> asyncpg.Connection:
        attempt = 0
        while True:
            await asyncio.sleep(backoff_delay(attempt, *self._backoff))
            try:
                return await self._open_listener()
            except _DB_ERRORS as exc:
                attempt += 1
                log.warning("hub listener reconnect attempt %d failed: %r", attempt, exc)


def _call(callback: Callable[..., None], *args: Any) -> None:
    # A failing reader callback is its own bug; it must not stop delivery to the others.
    try:
        callback(*args)
    except Exception:
        log.exception("hub callback %r failed", callback)


async def _close(conn: asyncpg.Connection | None) -> None:
    if conn is None:
        return
    # On failure or timeout asyncpg aborts the connection itself; nothing is left open.
    with contextlib.suppress(*_DB_ERRORS):
        await conn.close(timeout=CLOSE_TIMEOUT)
