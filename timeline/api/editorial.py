"""Editors at work: posts of the timeline's own, overrides on any event, deletions, and the audit log.

Every handler needs a key; the key's name (TIMELINE_API_KEYS `name:KEY`) is recorded as who made each
change. Each change is stored as any write is, so readers see it at once (the store's one write exit).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from timeline.api.deps import PRIVATE, EventId, Services, TimelineId, authenticate, require_key
from timeline.api.problems import problem_responses
from timeline.api.schemas import DATE_TIME, TITLE_PATTERN, Title
from timeline.models import EditedEvent, Media
from timeline.normalize import clean_body
from timeline.store import AuditEntry, Post

GUARDS = [require_key]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
MAX_BODY_HTML = 60_000  # characters: within the 64 KiB a request body may take
MAX_ITEMS = 20  # authors, media
MAX_SEQ = 2**63 - 1
HTTP_URL = r"^[hH][tT][tT][pP][sS]?://\S+$"
JSON = "application/json"


def _rfc3339(value: object) -> object:
    """Only an RFC 3339 date-time with its offset, as the document says (`format: date-time`): pydantic
    alone would also take a number of seconds, or a date."""
    if not isinstance(value, str) or not DATE_TIME.fullmatch(value) or not _OFFSET.search(value):
        raise ValueError("give an RFC 3339 date-time with its offset, such as 2024-05-01T12:00:00Z")
    return value


def _boolean(value: object) -> object:
    """Only `true` or `false`: pydantic would also take "yes", 1 or "on" (Litestar validates laxly, which
    overrides pydantic's own strict types)."""
    if not isinstance(value, bool):
        raise ValueError("give true or false")
    return value


_OFFSET = re.compile(r"(?:[Zz]|[+-]\d{2}:\d{2})$")
Time = Annotated[datetime, BeforeValidator(_rfc3339)]
Flag = Annotated[bool, BeforeValidator(_boolean)]


class _Closed(BaseModel):
    """A request body: unknown fields are refused (400), and the OpenAPI document says so."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MediaItem(_Closed):
    url: str = Field(
        max_length=2000,
        pattern=HTTP_URL,
        json_schema_extra={"pattern": HTTP_URL},  # Litestar drops it otherwise
        description="An absolute http(s) URL; images need https to be shown (others are dropped).",
    )
    kind: str | None = Field(None, max_length=100, description="MIME type or `image`, `video`…")
    caption: str | None = Field(None, max_length=1000)


# Litestar writes a list's length limit as `maxLength`, which bounds strings only: `maxItems` says it.
_LIST: dict[str, Any] = {"max_length": MAX_ITEMS, "json_schema_extra": {"maxItems": MAX_ITEMS}}
_TITLE: dict[str, Any] = {
    "max_length": 300,
    "pattern": TITLE_PATTERN,
    "json_schema_extra": {"pattern": TITLE_PATTERN},  # Litestar drops the pattern of an optional field
}
_NOTE = "An editor's note shown with the event: plain text, one line (tabs and line breaks become spaces)."
# A field that may be left out but not be null: absent, it takes this default (`model_fields_set` tells),
# while the document keeps its type non-null, as the server does.
_ABSENT: Any = None
_BODY = "HTML, sanitized as every update's is (scripts, styles, handlers and iframes go)."


class PostCreate(_Closed):
    """A new editorial post."""

    body_html: str = Field(min_length=1, max_length=MAX_BODY_HTML, description=_BODY)
    title: Title | None = Field(None, description="Plain text.", **_TITLE)
    key_event: Flag = False
    pinned: Flag = False
    published_at: Time | None = Field(
        None, description="RFC 3339; its place in the timeline. Default: now; an earlier time backfills."
    )
    authors: list[str] = Field([], **_LIST, description="Names, plain text (empty ones are dropped).")
    media: list[MediaItem] = Field([], **_LIST)

    def post(self, now: datetime) -> Post:
        return Post(
            body_html=self.body_html,
            published_at=_utc(self.published_at) or now,
            title=self.title,
            key_event=self.key_event,
            pinned=self.pinned,
            authors=tuple(self.authors),
            media=tuple(_media(item) for item in self.media),
        )


class EventPatch(_Closed):
    """Overrides on any event (null clears one), or, on an editorial post, its content. Only the fields
    given change."""

    hidden: Flag | None = Field(None, description="Hidden: the public reads the event as deleted.")
    pinned: Flag | None = Field(None, description="Pinned whatever the source says; null: as it says.")
    key_event: Flag | None = Field(
        None, description="A key event whatever the source says; null: as it says."
    )
    title: Title | None = Field(
        None, description="Shown in place of the source's title; null: its own.", **_TITLE
    )
    note: Title | None = Field(
        None,
        max_length=1000,
        pattern=TITLE_PATTERN,
        description=_NOTE,
        json_schema_extra={"pattern": TITLE_PATTERN},
    )
    body_html: str = Field(
        _ABSENT, min_length=1, max_length=MAX_BODY_HTML, description=f"Editorial posts only. {_BODY}"
    )
    published_at: Time = Field(_ABSENT, description="Editorial posts only: RFC 3339.")
    authors: list[str] | None = Field(None, **_LIST, description="Editorial posts only.")
    media: list[MediaItem] | None = Field(None, **_LIST, description="Editorial posts only.")

    def changes(self) -> dict[str, Any]:
        """The fields given, as the store takes them (None clears)."""
        given = {name: getattr(self, name) for name in self.model_fields_set}
        if given.get("published_at") is not None:
            given["published_at"] = _utc(given["published_at"])
        if given.get("authors") is not None:
            given["authors"] = tuple(given["authors"])
        if given.get("media") is not None:
            given["media"] = tuple(_media(item) for item in given["media"])
        return given


class AuditLog(BaseModel):
    actions: list[AuditEntry] = Field(description="Editorial actions, newest first.")
    next: int | None = Field(description="Pass as `before_seq` for older actions; null when there are none.")


def _media(item: MediaItem) -> Media:
    return Media(url=item.url, kind=item.kind, caption=item.caption)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


_WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422, 503)


class EditingRoutes:
    """The writes on a timeline's events, for `EventController`: they share its paths, and Litestar takes
    one controller per path."""

    @post(
        "/events",
        summary="Post an update of the editors' own",
        description="An event of the timeline's editorial source: sanitized, identified, revised and "
        "ordered as ingested updates are.",
        status_code=HTTP_201_CREATED,
        guards=GUARDS,
        security=BEARER,
        responses=_WRITE_PROBLEMS,
    )
    async def post_event(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        timeline: TimelineId,
        data: JSONBody[PostCreate],
    ) -> EditedEvent:
        now = datetime.now(UTC)
        timeline_id = await services.timeline_id(timeline)
        return await services.store.post_event(timeline_id, data.post(now), editor=_editor(request), now=now)

    @patch(
        "/events/{event_id:str}",
        summary="Override an event (hide, pin, mark, retitle, note), or edit an editorial post",
        description="Overrides sit on top of what the source says: re-polls never undo them, and the "
        "source's own edits still apply underneath; null clears one. An ingested event's body, time, "
        "authors and media are its source's: changing them is refused (409); hide it and post instead.",
        guards=GUARDS,
        security=BEARER,
        responses=_WRITE_PROBLEMS,
    )
    async def edit_event(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        timeline: TimelineId,
        event_id: EventId,
        data: JSONBody[EventPatch],
    ) -> EditedEvent:
        timeline_id = await services.timeline_id(timeline)
        editor, now = _editor(request), datetime.now(UTC)
        return await services.store.edit_event(timeline_id, event_id, data.changes(), editor=editor, now=now)

    @delete(
        "/events/{event_id:str}",
        summary="Delete an editorial post, or hide an ingested event",
        status_code=HTTP_204_NO_CONTENT,
        guards=GUARDS,
        security=BEARER,
        responses=problem_responses(401, 403, 404, 409, 503),
    )
    async def delete_event(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        timeline: TimelineId,
        event_id: EventId,
    ) -> None:
        timeline_id = await services.timeline_id(timeline)
        await services.store.delete_event(
            timeline_id, event_id, editor=_editor(request), now=datetime.now(UTC)
        )


@get(
    "/api/v1/timelines/{timeline:str}/audit",
    summary="Every editorial action, newest first",
    description="Who (the key's name), when, on which event, and what changed, before and after.",
    tags=["editorial"],
    guards=GUARDS,
    security=BEARER,
    responses=problem_responses(400, 401, 403, 404, 503),
)
async def audit(
    services: NamedDependency[Services],
    timeline: TimelineId,
    before_seq: Annotated[
        int | None,
        QueryParameter(
            ge=1,
            le=MAX_SEQ,
            description="The `next` of the previous call: the actions before that seq.",
            schema_extra={"maximum": MAX_SEQ},  # exact: Litestar publishes a float, rounded up past it
        ),
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200, description="Actions per call.")] = 50,
) -> Response[AuditLog]:
    found = await services.store.audit(await services.timeline_id(timeline), before=before_seq, limit=limit)
    return Response(AuditLog(actions=found.entries, next=found.next), media_type=JSON, headers=PRIVATE)


def _editor(request: Request[Any, Any, Any]) -> str:
    """The name of the key the request carries (the guard has checked it)."""
    return authenticate(request).name


class KeyName(BaseModel):
    name: str = Field(description="The key's name in TIMELINE_API_KEYS: who the audit log says acted.")


@get(
    "/api/v1/key",
    summary="The key this request carries: valid here, and under which name",
    description="A keyed read that needs no timeline: a client checks a key before it writes with it.",
    tags=["editorial"],
    security=BEARER,
    responses=problem_responses(401, 403),
)
async def current_key(request: Request[Any, Any, Any]) -> Response[KeyName]:
    return Response(KeyName(name=_editor(request)), media_type=JSON, headers=PRIVATE)


class BodyPreview(_Closed):
    body_html: str = Field(min_length=1, max_length=MAX_BODY_HTML, description=_BODY)


class CleanBody(BaseModel):
    body_html: str = Field(description="What a post with this body stores and serves: sanitized HTML.")
    body_text: str = Field(description="Its plain-text rendering.")


@post(
    "/api/v1/preview",
    summary="A post's body as it would be stored, sanitized, without storing anything",
    description="Editors see what readers will get before they publish: the allow-list keeps text "
    "formatting, links, lists, quotes and https images.",
    status_code=200,
    tags=["editorial"],
    guards=GUARDS,
    security=BEARER,
    responses=problem_responses(400, 401, 403, 413, 503),
)
async def preview(data: JSONBody[BodyPreview]) -> Response[CleanBody]:
    html, text = clean_body(data.body_html)
    return Response(CleanBody(body_html=html, body_text=text), media_type=JSON, headers=PRIVATE)
