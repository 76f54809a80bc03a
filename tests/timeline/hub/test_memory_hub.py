from __future__ import annotations

from timeline.hub.memory import MemoryHub


async def test_publish_reaches_on_change_until_close() -> None:
    changes: list[tuple[str, int]] = []
    hub = MemoryHub()
    await hub.start(lambda timeline_id, seq: changes.append((timeline_id, seq)), lambda: None)
    await hub.publish("tl_a", 1)
    await hub.publish("tl_b", 7)
    await hub.close()
    await hub.publish("tl_a", 2)
    assert changes == [("tl_a", 1), ("tl_b", 7)]
