"""Write-behind for the ends of delivery runs: one transaction for every run that ended in the last 50 ms.

A run's end is bookkeeping (the cursor, health, the attempts) whose deliveries already happened. Until it
is written the subscription stays leased to us, so no deliverer takes it up; the same UPDATE writes the
state and gives the lease back. A failed write is tried again; one never written (a crash) leaves the
lease to expire, and the changes since the last saved cursor are sent again (same `webhook-id`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from timeline.store import Attempt, DeliveryState, Store

log = logging.getLogger("timeline.webhooks")

LINGER = 0.05  # seconds a run's end waits for others to share its transaction
RETRY_AFTER = 1.0  # seconds before trying a failed write again

Finished = dict[str, tuple[DeliveryState, list[Attempt]]]


class Releases:
    """Buffers the ends of runs for one lease owner, writes them in batches, and calls `written` after
    each write (their subscriptions are claimable again)."""

    def __init__(
        self, store: Store, owner: str, written: Callable[[], None], *, linger: float = LINGER
    ) -> None:
        self._store = store
        self._owner = owner
        self._written = written
        self._linger = linger
        self._finished: Finished = {}
        self._lock = asyncio.Lock()  # one write at a time
        self._timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()

    def put(self, webhook_id: str, state: DeliveryState, attempts: list[Attempt]) -> None:
        earlier = self._finished.get(webhook_id)
        self._finished[webhook_id] = (state, [*(earlier[1] if earlier else ()), *attempts])
        self._arm(self._linger)

    async def close(self) -> None:
        """Write what is buffered, once; what cannot be written now is given up (logged)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await asyncio.gather(*self._writes, return_exceptions=True)
        failed = await self._write()
        if failed is not None:
            lost = ", ".join(sorted(self._finished))
            self._finished = {}
            log.error("could not save deliveries to %s; they are sent again when their leases end", lost)

    def _arm(self, delay: float) -> None:
        if self._timer is None and self._finished:
            self._timer = asyncio.get_running_loop().call_later(delay, self._write_soon)

    def _write_soon(self) -> None:
        self._timer = None
        task = asyncio.create_task(self._flush(), name="save webhook deliveries")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _flush(self) -> None:
        failed = await self._write()
        if failed is not None:
            log.warning("saving %d webhook deliveries failed; retrying", len(self._finished), exc_info=failed)
            self._arm(RETRY_AFTER)

    async def _write(self) -> Exception | None:
        async with self._lock:
            finished, self._finished = self._finished, {}
            if not finished:
                return None
            try:
                await self._store.finish_deliveries(self._owner, finished)
            except Exception as exc:  # a database hiccup, or a bug: what the runs did must not be lost
                for webhook_id, (state, attempts) in finished.items():
                    later = self._finished.get(webhook_id)
                    self._finished[webhook_id] = later or (state, attempts)
                return exc
        self._written()
        return None
