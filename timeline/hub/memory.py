"""The in-process hub: notifications go straight to this process's listener."""

from __future__ import annotations

from timeline.hub import OnChange, OnResync


class MemoryHub:
    """For one process (`timeline serve`): API and pollers share it, nothing crosses processes."""

    def __init__(self) -> None:
        self._on_change: OnChange | None = None

    async def start(self, on_change: OnChange, on_resync: OnResync) -> None:
        self._on_change = on_change

    async def publish(self, timeline_id: str, seq: int) -> None:
        if self._on_change is not None:
            self._on_change(timeline_id, seq)

    async def close(self) -> None:
        self._on_change = None
