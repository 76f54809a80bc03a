"""Conversions between table rows and the public models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row

from timeline.ids import editorial_source_id
from timeline.models import (
    EditedEvent,
    Event,
    EventDraft,
    HeldDeletions,
    LastError,
    Overrides,
    Source,
    SourceHealth,
    Timeline,
    Tombstone,
    rfc3339,
)
from timeline.store._editorial import NO_OVERRIDES, Sourced, shown
from timeline.store._plan import Hold
from timeline.store.types import PollState, Revision

_LISTS = ("authors", "tags", "media")
_EDITORIAL = ("hidden", "note")  # columns of migration 0006: rows of older revisions have none
_EVENT_FIELDS = tuple(name for name in Event.model_fields if name not in (*_LISTS, *_EDITORIAL))
_POLL_FIELDS = tuple(PollState.__dataclass_fields__)
# What `event` and `doc` read of a row, besides `hidden` and `note` when the row has them. Migrations
# render docs with these: a column added later must not be read by an earlier migration.
EVENT_COLUMNS = (*_EVENT_FIELDS, *_LISTS)
_EVENT_ORDER = tuple(Event.model_fields)
OVERRIDE_COLUMNS = ("hidden", "note", "pinned_override", "key_event_override", "title_override")
HOLD_COLUMNS = ("held_digest", "held_listed", "held_live", "held_since", "held_seen")


def _json(values: Iterable[object]) -> str:
    return orjson.dumps(list(values)).decode()


def content(draft: EventDraft, published_at: datetime, overrides: Overrides = NO_OVERRIDES) -> dict[str, Any]:
    """The content columns (of `events` and `event_revisions`) of `draft` as readers see it, with the
    editors' `overrides` on it and `published_at` as the store decided it."""
    title, pinned, key_event = shown(sourced(draft), overrides)
    return {
        "url": draft.url,
        "published_at": published_at,
        "time_estimated": draft.time_estimated,
        "updated_at": draft.updated_at,
        "title": title,
        "summary": draft.summary,
        "body_html": draft.body_html,
        "body_text": draft.body_text,
        "key_event": key_event,
        "pinned": pinned,
        "authors": _json(draft.authors),
        "tags": _json(draft.tags),
        "media": _json(m.model_dump(exclude_none=True) for m in draft.media),
        "position": draft.position,
        "content_hash": draft.content_hash,
        "hidden": overrides.hidden,
        "note": overrides.note,
    }


def sourced(draft: EventDraft) -> Sourced:
    return Sourced(draft.title, draft.pinned, draft.key_event)


def sourced_values(draft: EventDraft) -> dict[str, Any]:
    """The columns of `events` that keep what the source itself says: of the overridable fields, and the
    update's raw hash."""
    return {
        "source_title": draft.title,
        "source_pinned": draft.pinned,
        "source_key_event": draft.key_event,
        "raw_hash": draft.raw_hash,
    }


def override_values(overrides: Overrides) -> dict[str, Any]:
    """The override columns of `events` (`hidden` and `note` are among the content columns)."""
    return {
        "pinned_override": overrides.pinned,
        "key_event_override": overrides.key_event,
        "title_override": overrides.title,
    }


def overrides(fields: Mapping[Any, Any]) -> Overrides:
    """The editors' overrides of an `events` row."""
    return Overrides(
        hidden=fields["hidden"],
        note=fields["note"],
        pinned=fields["pinned_override"],
        key_event=fields["key_event_override"],
        title=fields["title_override"],
    )


def _lists(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {name: orjson.loads(row[name]) for name in _LISTS}


def event(row: Row[Any]) -> Event:
    return _event(row._mapping)


def edited(row: Row[Any], *, editorial: bool) -> EditedEvent:
    """An `events` row as keyed reads see it: whole, with its overrides."""
    fields = row._mapping
    whole = _event(fields).model_dump()
    return EditedEvent(**whole, editorial=editorial, overrides=overrides(fields))


def _event(fields: Mapping[Any, Any]) -> Event:
    editorial = {name: fields[name] for name in _EDITORIAL if name in fields}
    return Event(**{name: fields[name] for name in _EVENT_FIELDS}, **_lists(fields), **editorial)


def doc(fields: Mapping[Any, Any]) -> str:
    """The `doc` column: the event as the public API serves it, from the values of its row."""
    if fields["deleted"] or fields.get("hidden"):
        return unpublished_doc(fields["id"], fields["seq"], fields["published_at"], fields["position"])
    return orjson.dumps(_event(fields).model_dump(mode="json")).decode()


def unpublished_doc(event_id: str, seq: int, published_at: datetime, position: int) -> str:
    """The public JSON of an event readers must no longer see: a `Tombstone`, with what a client needs to
    remove the event and nothing of its content. Every such JSON the store keeps is rendered here."""
    tombstone = Tombstone(id=event_id, seq=seq, published_at=published_at, position=position)
    return orjson.dumps(tombstone.model_dump(mode="json")).decode()


def draft_doc(
    draft: EventDraft,
    *,
    timeline_id: str,
    published_at: datetime,
    revision: int,
    seq: int,
    overrides: Overrides = NO_OVERRIDES,
) -> str:
    """`doc` of a live event written from `draft` with the editors' `overrides` on it: what `doc` gives,
    at half the cost of validating an `Event` (the draft is valid already, and its fields are the
    event's, serialized alike). A hidden event's is its tombstone."""
    if overrides.hidden:
        return unpublished_doc(draft.id, seq, published_at, draft.position)
    values = draft.model_dump(mode="json")
    if published_at != draft.published_at:
        values["published_at"] = rfc3339(published_at)
    title, pinned, key_event = shown(sourced(draft), overrides)
    values.update(title=title, pinned=pinned, key_event=key_event, note=overrides.note, hidden=False)
    values.update(timeline_id=timeline_id, revision=revision, deleted=False, seq=seq)
    return orjson.dumps({name: values[name] for name in _EVENT_ORDER}).decode()


def revision(row: Row[Any], *, public: bool) -> Revision:
    """A row of `event_revisions` joined with its event's id, timeline, source and upstream id. Which key
    made a version is for keyed reads only (`public=False`)."""
    fields = row._mapping
    kept = {name: fields[name] for name in (*_EVENT_FIELDS, *_EDITORIAL) if name != "deleted"}
    editor = fields["editor"]
    return Revision(
        **kept,
        **_lists(fields),
        recorded_at=fields["recorded_at"],
        made_by="source" if editor is None else "editor",
        editor=None if public else editor,
    )


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


def timeline(row: Row[Any], sources: Sequence[Source] = (), published: Row[Any] | None = None) -> Timeline:
    """`published`: the timeline's count of published events and the newest one's time, when it has any."""
    fields = row._mapping
    return Timeline(
        id=fields["id"],
        slug=fields["slug"],
        title=fields["title"],
        status=fields["status"],
        created_at=fields["created_at"],
        last_seq=fields["last_seq"],
        events=published.events if published is not None else 0,
        last_event_at=published.last_event_at if published is not None else None,
        editorial_source=editorial_source_id(fields["id"]),
        sources=tuple(sources),
    )
