"""The editorial layer, decided in pure code (as `_plan` decides what `apply` writes).

What readers see of an event is its source's content with the editors' overrides on top (`shown`): the
title, pin and key-event flag of an override where there is one (not None), else the source's; `hidden`
makes the public read the event as deleted (keyed reads see it whole); `note` is shown with it. The store
keeps the source's own title and flags beside the overrides and renders the result whenever it writes the
event (its columns, its public JSON, a revision), so a re-poll that edits the event keeps the overrides,
and clearing one shows what the source says now.

An editor's request (`decide_edit`, `decide_delete`) is decided from the event as stored:
- a deleted event cannot be changed (`EventDeletedError`): nothing of it is published;
- an ingested event's content (body, time, authors, media) is its source's, which the next poll would
  bring back: refused (`SourcedContentError`), hide it and post instead;
- an editorial post's title, flags and content are its own, edited in place; `hidden` and `note` are
  overrides on any event;
- a request that changes nothing is no change: no seq, no revision, no audit entry.
Deleting an editorial post deletes it (again: nothing); deleting an ingested event hides it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Literal, NamedTuple

from feeds.types import Media, ParsedSnapshot, ParsedUpdate
from timeline.errors import EventDeletedError, SourcedContentError
from timeline.models import EventDraft, Overrides, rfc3339
from timeline.normalize import normalize
from timeline.normalize.sanitize import typed_text

NO_OVERRIDES = Overrides()
OVERRIDABLE = frozenset(Overrides.model_fields)
Action = Literal["post", "edit", "delete"]
Changes = dict[str, tuple[Any, Any]]  # field → (before, after), as JSON values


class Sourced(NamedTuple):
    """The fields an override can replace, as the source gives them (or as readers see them)."""

    title: str | None
    pinned: bool
    key_event: bool


def shown(source: Sourced, overrides: Overrides) -> Sourced:
    """What readers see of the overridable fields."""
    return Sourced(
        source.title if overrides.title is None else overrides.title,
        source.pinned if overrides.pinned is None else overrides.pinned,
        source.key_event if overrides.key_event is None else overrides.key_event,
    )


@dataclass(frozen=True, slots=True)
class Post:
    """An editorial post's content, as editors give it (its body before sanitizing)."""

    body_html: str
    published_at: datetime
    title: str | None = None
    key_event: bool = False
    pinned: bool = False
    authors: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()


POSTED = frozenset(field.name for field in fields(Post))


def post_draft(source_id: str, upstream_id: str, post: Post, *, now: datetime, edited: bool) -> EventDraft:
    """The post as a draft of the editorial source: sanitized, hashed and identified as any update is.
    An edited post's `updated_at` is `now`."""
    # Its title, names and captions are text as the editor typed it: escaped, normalize reads them back
    # as exactly that text (where it would read a source's as HTML), so cleaning a clean post is a no-op.
    update = ParsedUpdate(
        upstream_id=upstream_id,
        published_at=post.published_at,
        updated_at=now if edited else None,
        title=_typed(post.title),
        body_html=post.body_html,
        key_event=post.key_event,
        pinned=post.pinned,
        authors=tuple(html.escape(name) for name in post.authors),
        media=tuple(item.model_copy(update={"caption": _typed(item.caption)}) for item in post.media),
    )
    snapshot = ParsedSnapshot(adapter="editorial", updates=(update,))
    (draft,) = normalize(snapshot, source_id=source_id, now=now).drafts
    return draft


def _typed(text: str | None) -> str | None:
    return None if text is None else html.escape(text)


def post_of(draft: EventDraft) -> Post:
    """The post a draft of the editorial source holds, as stored (clean)."""
    return Post(
        body_html=draft.body_html,
        published_at=draft.published_at,
        title=draft.title,
        key_event=draft.key_event,
        pinned=draft.pinned,
        authors=draft.authors,
        media=draft.media,
    )


def clean(post: Post) -> Post:
    """`post` as it is stored: its body sanitized, its title and names as plain text (what normalize makes
    of any update). Cleaning a clean post changes nothing."""
    return post_of(post_draft("src_", "post_", post, now=post.published_at, edited=False))


class Current(NamedTuple):
    """An event as an editor's request finds it."""

    event_id: str
    deleted: bool
    overrides: Overrides
    post: Post | None  # an editorial post's content (clean); None for an ingested event


class Edit(NamedTuple):
    """What an editor's request changes: the event's overrides and, for a post, its (clean) content."""

    action: Action
    overrides: Overrides
    post: Post | None
    changes: Changes
    deleted: bool = False


def decide_edit(current: Current, patch: Mapping[str, Any]) -> Edit | None:
    """The edit `patch` (the fields a request gives; None clears) makes, or None when it changes nothing.
    Raises `EventDeletedError` and `SourcedContentError`."""
    if current.deleted:
        raise EventDeletedError(current.event_id)
    if current.post is None:
        refused = sorted(name for name in patch if name not in OVERRIDABLE)
        if refused:
            raise SourcedContentError(current.event_id, refused)
        return _edit(current, _overridden(current.overrides, patch, OVERRIDABLE), None)
    overrides = _overridden(current.overrides, patch, _ON_POSTS)
    given = {name: value for name, value in patch.items() if name in POSTED}
    return _edit(current, overrides, clean(_posted(current.post, given)))


def decide_delete(current: Current) -> Edit | None:
    """A post is deleted (once: deleting it again changes nothing); an ingested event is hidden (once),
    which for a deleted one is refused."""
    if current.post is not None:
        if current.deleted:
            return None
        return Edit("delete", current.overrides, current.post, {"deleted": (False, True)}, deleted=True)
    hidden = decide_edit(current, {"hidden": True})
    return None if hidden is None else hidden._replace(action="delete")


def post_changes(post: Post) -> Changes:
    """What a new (clean) post records in the audit log: each of its fields, from nothing."""
    return {name: (None, value) for name, value in _post_json(post).items()}


_ON_POSTS = frozenset(("hidden", "note"))  # a post's title and flags are its own content
_CLEARED: dict[str, Any] = {"title": None, "key_event": False, "pinned": False, "authors": (), "media": ()}


def _overridden(overrides: Overrides, patch: Mapping[str, Any], allowed: frozenset[str]) -> Overrides:
    given = {name: value for name, value in patch.items() if name in allowed}
    if "hidden" in given:
        given["hidden"] = bool(given["hidden"])  # null clears: not hidden
    for name in ("title", "note"):
        if name in given:
            given[name] = typed_text(given[name])  # empty clears
    return overrides.model_copy(update=given)


def _posted(post: Post, given: Mapping[str, Any]) -> Post:
    """`post` with the fields given; null clears a field that can be empty, and cannot clear the others."""
    refused = sorted(name for name, value in given.items() if value is None and name not in _CLEARED)
    if refused:
        raise ValueError(f"a post's {', '.join(refused)} cannot be null")
    return replace(
        post, **{name: _CLEARED[name] if value is None else value for name, value in given.items()}
    )


def _edit(current: Current, overrides: Overrides, post: Post | None) -> Edit | None:
    changes = _diff(current.overrides.model_dump(), overrides.model_dump())
    if post is not None and current.post is not None:
        changes.update(_diff(_post_json(current.post), _post_json(post)))
    return Edit("edit", overrides, post, changes) if changes else None


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    return {name: (before[name], after[name]) for name in after if before[name] != after[name]}


def _post_json(post: Post) -> dict[str, Any]:
    return {
        "body_html": post.body_html,
        "title": post.title,
        "key_event": post.key_event,
        "pinned": post.pinned,
        "published_at": rfc3339(post.published_at),
        "authors": list(post.authors),
        "media": [item.model_dump(exclude_none=True) for item in post.media],
    }
