"""A hub whose notifications also reach taps: listeners beside the one that starts it (the webhook
deliverer of a process beside its SSE fan-out)."""

from __future__ import annotations

from timeline.hub import Hub, OnChange, OnResync


class TappedHub:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._taps: list[tuple[OnChange, OnResync]] = []

    def tap(self, on_change: OnChange, on_resync: OnResync) -> None:
        self._taps.append((on_change, on_resync))

    def untap(self, on_change: OnChange) -> None:
        self._taps = [tap for tap in self._taps if tap[0] != on_change]

    async def start(self, on_change: OnChange, on_resync: OnResync) -> None:
        def changed(timeline_id: str, seq: int) -> None:
            on_change(timeline_id, seq)
            for tapped, _ in self._taps:
                tapped(timeline_id, seq)

        def resynced() -> None:
            on_resync()
            for _, tapped in self._taps:
                tapped()

        await self._hub.start(changed, resynced)

    async def publish(self, timeline_id: str, seq: int) -> None:
        await self._hub.publish(timeline_id, seq)

    async def close(self) -> None:
        await self._hub.close()
