"""The ordered timeline: pages by cursor, one event, its revisions, and the exact change feed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote_plus

import orjson
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.types import Scope

from timeline.api import page_query
from timeline.api.caching import Rendered, SeqEntry, Stored
from timeline.api.deps import PRIVATE, EventId, Services, require_key
from timeline.api.deps import SourceId as SourceId  # shared path parameters, for the other controllers
from timeline.api.deps import TimelineId as TimelineId
from timeline.api.editorial import EditingRoutes
from timeline.api.problems import problem, problem_responses
from timeline.api.reads import FRONT, JSON, RENDER_EARLY, Render, cached_read, read_responses
from timeline.api.schemas import DATE_TIME, ChangePage, EventPage
from timeline.models import EditedEvent, Event, Tombstone
from timeline.store import PageOptions, Revision

MAX_SEQ = 2**63 - 1  # seqs are BIGINT
# Reads that show more with a key: without one, public; with a valid one, the whole event.
OPTIONAL_KEY: list[dict[str, list[str]]] = [{}, {"bearer": []}]
KEYED_PROBLEMS = problem_responses(401, 403)
# Public answers of keyed reads differ from keyed ones: a shared cache must not give one for the other.
BY_KEY = {"Vary": "Authorization"}


def _render_early(services: Services, scope: Scope) -> Render | None:
    """The cache front's render of a plain page request (`RENDER_EARLY`)."""
    query = page_query.plain(scope["query_string"])
    return None if query is None else _render_page(services, scope, query)


def _render_page(services: Services, scope: Scope, query: PageOptions) -> Render:
    async def render(entry: SeqEntry) -> Rendered:
        page = await services.store.page_docs(entry.timeline_id, **query)
        body = {
            "events": [orjson.Fragment(doc) for doc in page.events],
            "pinned": await _pinned(services, entry),
            "next": page.next,
            "prev": page.prev,
            "last_seq": entry.last_seq,
        }
        links = _links(scope, page.next, page.prev)
        return Rendered(entry.last_seq, orjson.dumps(body), (("Link", links),) if links else ())

    return render


class EventController(EditingRoutes, Controller):
    path = "/api/v1/timelines/{timeline:str}"
    tags = ["events"]  # noqa: RUF012 (Litestar reads it as a class attribute)
    opt = {FRONT: True}  # noqa: RUF012

    @get(
        "/events",
        summary="The ordered timeline, one page",
        description="Page with `before` or `after`, never both: a request with both is refused (400).",
        responses=read_responses(EventPage, "A page of events."),
        opt={RENDER_EARLY: _render_early},
    )
    async def list_events(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        timeline: TimelineId,
        order: page_query.OrderQuery = page_query.DEFAULT_ORDER,
        limit: page_query.LimitQuery = page_query.DEFAULT_LIMIT,
        before: page_query.BeforeQuery = None,
        after: page_query.AfterQuery = None,
        key_events: page_query.KeyEventsQuery = False,
        since: page_query.SinceQuery = None,
    ) -> Response[bytes]:
        if page_query.both_cursors(before, after):
            detail = page_query.BOTH_CURSORS
            return problem(400, "invalid_request", "Invalid request", detail, parameter="before")
        if since is not None and not DATE_TIME.fullmatch(request.query_params.get("since", "")):
            detail = "Give `since` as an RFC 3339 date-time, such as 2024-05-01T12:00:00Z."
            return problem(400, "invalid_request", "Invalid request", detail, parameter="since")

        query = PageOptions(
            order=order, limit=limit, before=before, after=after, key_events=key_events, since=_utc(since)
        )
        render = _render_page(services, request.scope, query)
        return await cached_read(request, services, timeline, render)

    @get(
        "/events/{event_id:str}",
        summary="One event; a deleted or hidden one as its tombstone",
        description="A deleted event, or one an editor hid, is unpublished: only its tombstone (`id`, "
        "`seq`, `deleted`, `published_at`, `position`) is public. With a valid key the whole event is read, "
        "content included, with the editors' overrides (`EditedEvent`).",
        responses={
            **read_responses(
                Event | Tombstone | EditedEvent, "The event, its tombstone, or (keyed) all of it."
            ),
            **KEYED_PROBLEMS,
        },
        security=OPTIONAL_KEY,
    )
    async def get_event(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        timeline: TimelineId,
        event_id: EventId,
    ) -> Response[bytes]:
        if _keyed(request):
            found = await services.store.edited_event(await services.timeline_id(timeline), event_id)
            return _private(found.model_dump(mode="json"))

        async def render(entry: SeqEntry) -> Rendered:
            doc = await services.store.event_doc(entry.timeline_id, event_id)
            return Rendered(entry.last_seq, doc.encode())

        return await cached_read(request, services, timeline, render, headers=BY_KEY)

    @get(
        "/events/{event_id:str}/revisions",
        summary="Every version of an event, oldest first",
        description="A deleted event's history is not public: 404, as for an unknown event (it may be "
        "published again; its tombstone says it is deleted). With a valid key it is read all the same.",
        responses={**read_responses(list[Revision], "Revisions, oldest first."), **KEYED_PROBLEMS},
        security=OPTIONAL_KEY,
    )
    async def get_revisions(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        timeline: TimelineId,
        event_id: EventId,
    ) -> Response[bytes]:
        if _keyed(request):
            timeline_id = await services.timeline_id(timeline)
            found = await services.store.revisions(timeline_id, event_id, unpublished=True)
            return _private([r.model_dump(mode="json") for r in found])

        async def render(entry: SeqEntry) -> Rendered:
            found = await services.store.revisions(entry.timeline_id, event_id)
            return Rendered(entry.last_seq, orjson.dumps([r.model_dump(mode="json") for r in found]))

        return await cached_read(request, services, timeline, render, headers=BY_KEY)

    @get(
        "/changes",
        summary="Every change after a seq: the exact-sync API",
        description="Upserts and tombstones after `since`, ascending by seq; each changed event appears "
        "once, "
        "in its latest state. Call again with `next_since` until `changes` is empty.",
        responses=read_responses(ChangePage, "Changes after `since`."),
    )
    async def list_changes(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        timeline: TimelineId,
        since: Annotated[
            int,
            QueryParameter(
                ge=0,
                le=MAX_SEQ,
                description="Seq to read after; 0 for everything.",
                schema_extra={"maximum": MAX_SEQ},  # exact: Litestar publishes a float, rounded up past it
            ),
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="Changes per call.")] = 500,
    ) -> Response[bytes]:
        async def render(entry: SeqEntry) -> Rendered:
            found = await services.store.change_docs(entry.timeline_id, since=since, limit=limit)
            body = {
                "changes": [{"seq": c.seq, "kind": c.kind, "event": orjson.Fragment(c.doc)} for c in found],
                "next_since": found[-1].seq if found else max(since, 0),
                "last_seq": entry.last_seq,
            }
            return Rendered(entry.last_seq, orjson.dumps(body))

        return await cached_read(request, services, timeline, render)


async def _pinned(services: Services, entry: SeqEntry) -> orjson.Fragment:
    """The timeline's pinned events as JSON, rendered once per seq: every page carries them."""
    key = (entry.timeline_id, "pinned", "")
    stored = services.pages.get(key, entry.last_seq)
    if stored is None:
        found = await services.store.pinned_docs(entry.timeline_id)
        stored = Stored(entry.last_seq, orjson.dumps([orjson.Fragment(doc) for doc in found]), [])
        services.pages.put(key, stored)
    return orjson.Fragment(stored.body)


def _keyed(request: Request[Any, Any, Any]) -> bool:
    """Whether the request reads with a key. A bearer key that is not valid is refused (401/403), not read
    as public: a console with a wrong key must learn so. Other schemes (a proxy's Basic credentials) are
    not ours: those requests read as the public does."""
    scheme, _, _ = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    require_key(request, request.route_handler)
    return True


def _private(body: Any) -> Response[bytes]:
    """A keyed read's answer: for this client only, never stored by a cache."""
    return Response(orjson.dumps(body), media_type=JSON, headers=PRIVATE)


def _utc(value: datetime | None) -> datetime | None:
    """A time without an offset is taken as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _links(scope: Scope, following: str | None, preceding: str | None) -> str:
    """RFC 8288 `Link` header: the request's own query, as sent, with the other cursor. (Cursors are
    URL-safe base64, so they need no quoting.)"""
    query = scope["query_string"].decode("latin-1")
    kept = [pair for pair in query.split("&") if pair and _name(pair) not in ("before", "after")]
    path = scope.get("root_path", "") + scope["path"]
    links = []
    for rel, name, cursor in (("next", "after", following), ("prev", "before", preceding)):
        if cursor:
            links.append(f'<{path}?{"&".join([*kept, f"{name}={cursor}"])}>; rel="{rel}"')
    return ", ".join(links)


def _name(pair: str) -> str:
    return unquote_plus(pair.partition("=")[0])
