"""Building `EventDraft`s for store tests, without the normalize package."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from timeline.ids import event_id
from timeline.models import EventDraft
from timeline.store import ApplyPolicy

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# Apply's plain rules, for tests about something else: no mass-deletion guard, no flap damping.
PLAIN = ApplyPolicy(confirm_polls=1, confirm_seconds=0, flap_window=0)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def draft(
    source_id: str,
    upstream_id: str,
    body: str = "text",
    *,
    at: datetime = T0,
    deleted: bool = False,
    **fields: Any,
) -> EventDraft:
    """A draft whose content hash covers the body, the other given fields and (unless estimated) the time."""
    estimated = fields.get("time_estimated", False)
    visible = [body, None if estimated else at.isoformat(), sorted(fields.items())]
    digest = hashlib.blake2b(orjson.dumps(visible, default=str), digest_size=16).hexdigest()
    return EventDraft(
        id=event_id(source_id, upstream_id),
        source_id=source_id,
        upstream_id=upstream_id,
        published_at=at,
        body_html=f"<p>{body}</p>",
        body_text=body,
        deleted=deleted,
        content_hash=digest,
        **fields,
    )
