"""The hub tells every process that a timeline has new changes: (timeline id, seq), never the data.

Readers always fetch the changes themselves from the store by seq, so a lost or duplicated notification
never loses or repeats a change; it only delays one until the next notification or resync.

Backends (`TIMELINE_HUB`): `memory` (one process) and `postgres` (LISTEN/NOTIFY, many processes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

OnChange = Callable[[str, int], None]
"""Called with (timeline id, seq) for every notification, in the event loop."""
OnResync = Callable[[], None]
"""Called when notifications may have been missed (a listener reconnected): re-read everything by seq."""


class Hub(Protocol):
    async def start(self, on_change: OnChange, on_resync: OnResync) -> None:
        """Begin delivering notifications (from this and other processes) to the callbacks."""

    async def publish(self, timeline_id: str, seq: int) -> None:
        """Tell every process that `timeline_id` changed up to `seq` (call after the commit)."""

    async def close(self) -> None: ...
