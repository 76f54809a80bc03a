"""Write-behind for the states polls end in: one transaction for every poll that ended in the last 0.1 s.

A poll's state is scheduling bookkeeping (validators, health, next poll); its events were committed by
`apply` already. Until a state is written its source stays leased to us, so no poller takes it up; the
same UPDATE writes the state and drops the lease. If a write fails the states wait for the next one;
if they never get written (a crash, or a database down at shutdown) the leases expire and the sources
are polled again from their previous state, which re-applies nothing (`apply` is idempotent).
"""

from __future__ import annotations

import asyncio
import logging

from timeline.store import PollState, Store

log = logging.getLogger("timeline.poller")

LINGER = 0.1  # seconds a state waits for others to share its transaction
RETRY_AFTER = 1.0  # seconds before trying a failed write again


class StateWriter:
    """Buffers `(source, state)` pairs for one lease owner and writes them in batches."""

    def __init__(self, store: Store, owner: str, *, linger: float = LINGER) -> None:
        self._store = store
        self._owner = owner
        self._linger = linger
        self._states: dict[str, PollState] = {}
        self._moved: dict[str, str] = {}
        self._lock = asyncio.Lock()  # one write at a time, so `flush` also waits for one under way
        self._timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()
        self._closed = False

    def put(self, source_id: str, state: PollState, *, moved_to: str | None = None) -> None:
        """Save `state` (and drop the lease) soon; `moved_to` is a new URL from a permanent redirect."""
        self._states[source_id] = state
        if moved_to is not None:
            self._moved[source_id] = moved_to
        self._arm(self._linger)

    async def flush(self) -> None:
        """Write every state put so far, after any write under way; a failed write keeps them for later."""
        failed = await self._write()
        if failed is not None:
            log.warning("saving the state of %d polls failed; retrying", len(self._states), exc_info=failed)
            self._arm(RETRY_AFTER)

    async def close(self) -> None:
        """Write every state put so far, once: states that cannot be written now are given up (logged)."""
        self._closed = True
        await asyncio.gather(*self._writes, return_exceptions=True)
        failed = await self._write()
        if failed is not None:
            lost = ", ".join(sorted(self._states))
            self._states, self._moved = {}, {}
            log.error(
                "could not save the state of polls of %s; they are polled again when their leases expire",
                lost,
                exc_info=failed,
            )

    def _arm(self, delay: float) -> None:
        if self._timer is None and self._states and not self._closed:
            self._timer = asyncio.get_running_loop().call_later(delay, self._write_soon)

    def _write_soon(self) -> None:
        self._timer = None
        task = asyncio.create_task(self.flush(), name="save poll states")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self) -> Exception | None:
        """Write what is buffered in one transaction; on failure the states are buffered again."""
        async with self._lock:
            states, moved = self._states, self._moved
            if not states:
                return None
            self._states, self._moved = {}, {}
            if self._timer is not None:  # written now: the timer has nothing left to do
                self._timer.cancel()
                self._timer = None
            try:
                await self._store.finish_polls(self._owner, states, moved=moved)
            except Exception as exc:  # a database hiccup, or a bug: either way the states must not be lost
                self._states, self._moved = {**states, **self._states}, {**moved, **self._moved}
                return exc
        return None
