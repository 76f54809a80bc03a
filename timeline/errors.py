"""Errors of the service.

    TimelineError
    ├── NotFoundError
    │   ├── TimelineNotFoundError
    │   ├── SourceNotFoundError
    │   ├── EventNotFoundError
    │   └── WebhookNotFoundError
    ├── ConflictError
    │   ├── EventDeletedError
    │   └── SourcedContentError
    ├── InvalidCursorError
    └── StorageError

Each error has a stable machine `kind` (the problem+json `type`) and a human message.
"""

from __future__ import annotations


class TimelineError(Exception):
    kind = "timeline"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(TimelineError):
    kind = "not_found"


class TimelineNotFoundError(NotFoundError):
    kind = "not_found.timeline"

    def __init__(self, timeline: str) -> None:
        super().__init__(f"No timeline with id or slug {timeline!r}.")
        self.timeline = timeline


class SourceNotFoundError(NotFoundError):
    kind = "not_found.source"

    def __init__(self, source_id: str) -> None:
        super().__init__(f"No source with id {source_id!r}.")
        self.source_id = source_id


class EventNotFoundError(NotFoundError):
    kind = "not_found.event"

    def __init__(self, event_id: str, *, deleted: bool = False) -> None:
        if deleted:  # what stays public of a deleted event is its tombstone, not its history
            super().__init__(f"The event {event_id!r} is deleted: only its tombstone is public.")
        else:
            super().__init__(f"No event with id {event_id!r} in this timeline.")
        self.event_id = event_id


class WebhookNotFoundError(NotFoundError):
    kind = "not_found.webhook"

    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"No webhook with id {webhook_id!r} on this timeline.")
        self.webhook_id = webhook_id


class ConflictError(TimelineError):
    kind = "conflict"


class EventDeletedError(ConflictError):
    """An editor changed an event that is deleted: there is nothing published to change."""

    kind = "conflict.event_deleted"

    def __init__(self, event_id: str) -> None:
        super().__init__(
            f"The event {event_id!r} is deleted; it cannot be changed. If its source publishes it again, "
            "edit it then; or post an update of your own (POST …/events)."
        )
        self.event_id = event_id


class SourcedContentError(ConflictError):
    """An editor tried to change the content of an event its source owns."""

    kind = "conflict.sourced_content"

    def __init__(self, event_id: str, fields: list[str]) -> None:
        super().__init__(
            f"The event {event_id!r} comes from its source, which owns its {', '.join(fields)}: the next "
            'poll would bring them back. Hide it (PATCH {"hidden": true}) and post a correction of your '
            "own instead (POST …/events); its title, pin, key event and note can be overridden."
        )
        self.event_id = event_id
        self.fields = fields


class WebhookDisabledError(ConflictError):
    """A ping was asked of a disabled webhook, to which the deliverer sends nothing."""

    kind = "conflict.webhook_disabled"

    def __init__(self, webhook_id: str) -> None:
        super().__init__(
            f"The webhook {webhook_id!r} is disabled, so nothing is sent to it; enable it first "
            '(PATCH {"enabled": true}), then send the test again.'
        )
        self.webhook_id = webhook_id


class InvalidCursorError(TimelineError):
    kind = "invalid_cursor"

    def __init__(self, cursor: str, parameter: str | None = None) -> None:
        super().__init__(
            f"Cursor {cursor[:40]!r} is not one this service issued; use the `next`/`prev` value of a page."
        )
        self.cursor = cursor
        self.parameter = parameter


class StorageError(TimelineError):
    kind = "storage"
