"""What a delivery says: a change (or a ping) as the JSON body receivers get, and its stable id.

The event is the stored public JSON, copied as it is (the same as `GET …/changes` serves): a deletion
carries only the tombstone.
"""

from __future__ import annotations

from datetime import datetime

import orjson

from timeline.models import rfc3339
from timeline.store import ChangeDoc


def change_id(webhook_id: str, seq: int) -> str:
    """The same for every attempt of one change to one subscription, so receivers can drop repeats."""
    return f"msg_{webhook_id}_{seq}"


def change_body(timeline_id: str, change: ChangeDoc, now: datetime) -> bytes:
    data = {"timeline": timeline_id, "seq": change.seq, "event": orjson.Fragment(change.doc)}
    return orjson.dumps({"type": f"event.{change.kind}", "timestamp": rfc3339(now), "data": data})


def ping_body(timeline_id: str, now: datetime) -> bytes:
    return orjson.dumps({"type": "ping", "timestamp": rfc3339(now), "data": {"timeline": timeline_id}})


def is_key_event(change: ChangeDoc) -> bool:
    """Whether the change is an upsert of a key event (a tombstone does not say what it was)."""
    return not change.deleted and bool(orjson.loads(change.doc).get("key_event"))
