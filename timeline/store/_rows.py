"""Conversions between table rows and the public models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row

from timeline.models import (
    Event,
    EventDraft,
    HeldDeletions,
    LastError,
    Source,
    SourceHealth,
    Timeline,
    Tombstone,
    rfc3339,
)
from timeline.store._plan import Hold
from timeline.store.types import PollState, Revision

_EVENT_FIELDS = tuple(name for name in Event.model_fields if name not in ("authors", "tags", "media"))
_POLL_FIELDS = tuple(PollState.__dataclass_fields__)
EVENT_COLUMNS = (*_EVENT_FIELDS, "authors", "tags", "media")  # what `event` and `doc` read of a row
_EVENT_ORDER = tuple(Event.model_fields)
HOLD_COLUMNS = ("held_digest", "held_listed", "held_live", "held_since", "held_seen")


def _json(values: Iterable[object]) -> str:
    return orjson.dumps(list(values)).decode()


def content(draft: EventDraft, published_at: datetime) -> dict[str, Any]:
    """The content columns of `draft`, with `published_at` as the store decided it."""
    return {
        "url": draft.url,
        "published_at": published_at,
        "time_estimated": draft.time_estimated,
        "updated_at": draft.updated_at,
        "title": draft.title,
        "summary": draft.summary,
        "body_html": draft.body_html,
        "body_text": draft.body_text,
        "key_event": draft.key_event,
        "pinned": draft.pinned,
        "authors": _json(draft.authors),
        "tags": _json(draft.tags),
        "media": _json(m.model_dump(exclude_none=True) for m in draft.media),
        "position": draft.position,
        "content_hash": draft.content_hash,
    }


def _lists(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {name: orjson.loads(row[name]) for name in ("authors", "tags", "media")}


def event(row: Row[Any]) -> Event:
    return _event(row._mapping)


def _event(fields: Mapping[Any, Any]) -> Event:
    return Event(**{name: fields[name] for name in _EVENT_FIELDS}, **_lists(fields))


def doc(fields: Mapping[Any, Any]) -> str:
    """The `doc` column: the event as the public API serves it, from the values of its row."""
    if fields["deleted"]:
        return unpublished_doc(fields["id"], fields["seq"], fields["published_at"], fields["position"])
    return orjson.dumps(_event(fields).model_dump(mode="json")).decode()


def unpublished_doc(event_id: str, seq: int, published_at: datetime, position: int) -> str:
    """The public JSON of an event readers must no longer see: a `Tombstone`, with what a client needs to
    remove the event and nothing of its content. Every such JSON the store keeps is rendered here."""
    tombstone = Tombstone(id=event_id, seq=seq, published_at=published_at, position=position)
    return orjson.dumps(tombstone.model_dump(mode="json")).decode()


def draft_doc(draft: EventDraft, *, timeline_id: str, published_at: datetime, revision: int, seq: int) -> str:
    """`doc` of a live event written from `draft`: what `doc` gives, at half the cost of validating an
    `Event` (the draft is valid already, and its fields are the event's, serialized alike)."""
    values = draft.model_dump(mode="json")
    if published_at != draft.published_at:
        values["published_at"] = rfc3339(published_at)
    values.update(timeline_id=timeline_id, revision=revision, deleted=False, seq=seq)
    return orjson.dumps({name: values[name] for name in _EVENT_ORDER}).decode()


def revision(row: Row[Any]) -> Revision:
    """A row of `event_revisions` joined with its event's id, timeline, source and upstream id."""
    fields = row._mapping
    kept = {name: fields[name] for name in _EVENT_FIELDS if name != "deleted"}
    return Revision(**kept, **_lists(fields), recorded_at=fields["recorded_at"])


def poll_state(row: Row[Any]) -> PollState:
    return PollState(**{name: row._mapping[name] for name in _POLL_FIELDS})


def poll_values(state: PollState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in _POLL_FIELDS}


def hold(fields: Mapping[Any, Any]) -> Hold | None:
    """The mass deletion a source row holds back, if any."""
    if fields["held_digest"] is None:
        return None
    return Hold(*(fields[name] for name in HOLD_COLUMNS))


def hold_values(held: Hold | None) -> dict[str, Any]:
    return dict(zip(HOLD_COLUMNS, held or (None,) * len(HOLD_COLUMNS), strict=True))


def held_deletions(held: Hold | None) -> HeldDeletions | None:
    if held is None:
        return None
    return HeldDeletions.of(listed=held.listed, live=held.live, since=held.since, seen=held.seen)


def _health(state: PollState, held: Hold | None) -> SourceHealth:
    last_error = None
    if state.last_error_kind and state.last_error_at:
        last_error = LastError(
            kind=state.last_error_kind, message=state.last_error_message or "", at=state.last_error_at
        )
    return SourceHealth(
        status=state.status,
        last_success_at=state.last_success_at,
        last_error=last_error,
        consecutive_failures=state.consecutive_failures,
        next_poll_at=state.next_poll_at,
        interval_seconds=state.interval_seconds,
        held_deletions=held_deletions(held),
    )


def source(row: Row[Any]) -> Source:
    fields = row._mapping
    return Source(
        id=fields["id"],
        timeline_id=fields["timeline_id"],
        url=fields["url"],
        adapter=fields["adapter"],
        created_at=fields["created_at"],
        health=_health(poll_state(row), hold(fields)),
    )


def timeline(row: Row[Any], sources: Sequence[Source] = ()) -> Timeline:
    fields = row._mapping
    return Timeline(
        id=fields["id"],
        slug=fields["slug"],
        title=fields["title"],
        status=fields["status"],
        created_at=fields["created_at"],
        last_seq=fields["last_seq"],
        sources=tuple(sources),
    )
