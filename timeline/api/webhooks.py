"""Webhook subscriptions of a timeline: create, read, change, delete, rotate the secret, send a ping, and
the recent delivery attempts.

Every route needs a key: a subscription's URL and health are its owner's business. The secret is shown
in the answers of create and rotate only. The API never sends anything itself: a ping is asked of the
deliverer, which runs in the poller processes, as "poll now" is asked of the pollers.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from pydantic import AfterValidator, BaseModel, Field

from timeline.api.deps import PRIVATE, Services, TimelineId, require_key
from timeline.api.editorial import Flag
from timeline.api.problems import problem_responses
from timeline.api.schemas import TITLE_PATTERN, Title, _Body
from timeline.models import ChangeKind, Webhook, WebhookAttempt
from timeline.store import WebhookSpec

WebhookId = Annotated[str, PathParameter(description="Webhook id (`wh_…`).")]
GUARDS = [require_key]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
JSON = "application/json"
_READ_PROBLEMS = problem_responses(400, 401, 403, 404, 503)
_PING_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 503)
_WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 413, 422, 503)

# An http(s) URL with a host part, without white space or control characters: all the API checks. The
# deliverer checks the rest when it sends (a host name DNS cannot carry, an address the guard refuses) and
# says so in the webhook's health, as the fetcher does for a source.
URL_PATTERN = r"^[hH][tT][tT][pP][sS]?://[^\s\x00-\x1f\x7f-\x9f/?#]+(?:[/?#][^\s\x00-\x1f\x7f-\x9f]*)?$"
_URL: dict[str, Any] = {
    "max_length": 2000,
    "pattern": URL_PATTERN,
    "json_schema_extra": {"pattern": URL_PATTERN},  # Litestar drops the pattern of an optional field
    "description": "The receiver: an http(s) URL that answers a POST with 2xx. Credentials in it are sent "
    "as Basic auth, and never shown.",
}
_EVENTS: dict[str, Any] = {
    "min_length": 1,
    "max_length": 2,
    "json_schema_extra": {"minItems": 1, "maxItems": 2, "uniqueItems": True},
    "description": "The kinds of change to deliver.",
}
_DESCRIPTION: dict[str, Any] = {
    "max_length": 300,
    "pattern": TITLE_PATTERN,
    "json_schema_extra": {"pattern": TITLE_PATTERN},
    "description": "For people: what the receiver is.",
}


def _unique(kinds: list[ChangeKind]) -> list[ChangeKind]:
    if len(set(kinds)) != len(kinds):
        raise ValueError("list each kind once")
    return kinds


Kinds = Annotated[list[ChangeKind], AfterValidator(_unique)]


class WebhookCreate(_Body):
    url: str = Field(**_URL)
    events: Kinds = Field(["upsert", "delete"], **_EVENTS)
    key_events_only: Flag = Field(
        False, description="Only upserts of key events (deletions are all sent: a tombstone does not say)."
    )
    description: Title | None = Field(None, **_DESCRIPTION)

    def spec(self) -> WebhookSpec:
        kinds = tuple(self.events)
        return WebhookSpec(self.url, kinds, self.key_events_only, self.description)


class WebhookUpdate(_Body):
    """Only the fields given change; `enabled: true` resumes a disabled subscription from its cursor."""

    url: str | None = Field(None, **_URL)
    events: Kinds | None = Field(None, **_EVENTS)
    key_events_only: Flag | None = None
    description: Title | None = Field(None, **_DESCRIPTION)
    enabled: Flag | None = None

    def changes(self) -> dict[str, Any]:
        given = {name: getattr(self, name) for name in self.model_fields_set}
        for name in ("url", "events", "key_events_only", "enabled"):
            if name in given and given[name] is None:
                del given[name]  # null clears the description only: the others always have a value
        return given


class WebhookCreated(Webhook):
    secret: str = Field(
        description="`whsec_…`: the key that signs deliveries (Standard Webhooks). Shown now only; keep it."
    )


class Deliveries(BaseModel):
    attempts: list[WebhookAttempt] = Field(description="Recent delivery attempts, newest first.")


class WebhookController(Controller):
    path = "/api/v1/timelines/{timeline:str}/webhooks"
    tags = ["webhooks"]  # noqa: RUF012 (Litestar reads it as a class attribute)
    guards = GUARDS
    security = BEARER

    @post(
        "/",
        summary="Subscribe a receiver to the timeline's changes",
        description="Changes committed from now on are POSTed to `url`, signed per Standard Webhooks, "
        "in seq order, retried until delivered. The answer holds the secret, shown this once.",
        status_code=HTTP_201_CREATED,
        responses=_WRITE_PROBLEMS,
    )
    async def create_webhook(
        self, services: NamedDependency[Services], timeline: TimelineId, data: JSONBody[WebhookCreate]
    ) -> Response[WebhookCreated]:
        timeline_id = await services.timeline_id(timeline)
        webhook, secret = await services.store.create_webhook(timeline_id, data.spec())
        return _private(WebhookCreated(**webhook.model_dump(), secret=secret), HTTP_201_CREATED)

    @get("/", summary="The timeline's webhooks with their health", responses=_READ_PROBLEMS)
    async def list_webhooks(
        self, services: NamedDependency[Services], timeline: TimelineId
    ) -> Response[list[Webhook]]:
        return _private(await services.store.list_webhooks(await services.timeline_id(timeline)))

    @get("/{webhook_id:str}", summary="One webhook with its health", responses=_READ_PROBLEMS)
    async def get_webhook(
        self, services: NamedDependency[Services], timeline: TimelineId, webhook_id: WebhookId
    ) -> Response[Webhook]:
        return _private(await services.store.get_webhook(await services.timeline_id(timeline), webhook_id))

    @patch(
        "/{webhook_id:str}",
        summary="Change a webhook's URL or filters, or disable or enable it",
        responses=_WRITE_PROBLEMS,
    )
    async def update_webhook(
        self,
        services: NamedDependency[Services],
        timeline: TimelineId,
        webhook_id: WebhookId,
        data: JSONBody[WebhookUpdate],
    ) -> Response[Webhook]:
        timeline_id = await services.timeline_id(timeline)
        return _private(await services.store.update_webhook(timeline_id, webhook_id, data.changes()))

    @delete(
        "/{webhook_id:str}",
        summary="Delete a webhook",
        status_code=HTTP_204_NO_CONTENT,
        responses=_READ_PROBLEMS,
    )
    async def delete_webhook(
        self, services: NamedDependency[Services], timeline: TimelineId, webhook_id: WebhookId
    ) -> None:
        await services.store.delete_webhook(await services.timeline_id(timeline), webhook_id)

    @post(
        "/{webhook_id:str}/rotate-secret",
        summary="Give a webhook a new secret; the old one also signs for 24 hours",
        status_code=200,
        responses=_READ_PROBLEMS,
    )
    async def rotate_secret(
        self, services: NamedDependency[Services], timeline: TimelineId, webhook_id: WebhookId
    ) -> Response[WebhookCreated]:
        timeline_id = await services.timeline_id(timeline)
        webhook, secret = await services.store.rotate_webhook_secret(timeline_id, webhook_id)
        return _private(WebhookCreated(**webhook.model_dump(), secret=secret))

    @post(
        "/{webhook_id:str}/test",
        summary="Send a `ping` to the receiver",
        description="Asked of the deliverer, which sends it at once, ahead of the webhook's changes and of "
        "any retry it waits for; its outcome is in `…/deliveries`. A disabled webhook is sent nothing: 409.",
        status_code=HTTP_202_ACCEPTED,
        responses=_PING_PROBLEMS,
    )
    async def ping(
        self, services: NamedDependency[Services], timeline: TimelineId, webhook_id: WebhookId
    ) -> Response[Webhook]:
        timeline_id = await services.timeline_id(timeline)
        return _private(await services.store.request_ping(timeline_id, webhook_id), HTTP_202_ACCEPTED)

    @get(
        "/{webhook_id:str}/deliveries",
        summary="A webhook's recent delivery attempts",
        responses=_READ_PROBLEMS,
    )
    async def deliveries(
        self,
        services: NamedDependency[Services],
        timeline: TimelineId,
        webhook_id: WebhookId,
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Attempts to list.")] = 20,
    ) -> Response[Deliveries]:
        timeline_id = await services.timeline_id(timeline)
        found = await services.store.webhook_attempts(timeline_id, webhook_id, limit=limit)
        return _private(Deliveries(attempts=found))


def _private(body: Any, status: int = 200) -> Response[Any]:
    return Response(body, status_code=status, media_type=JSON, headers=PRIVATE)
