"""Timelines and their sources: list, read, create, change, delete; attach, detach, poll now."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from timeline.api.deps import Services, require_key
from timeline.api.events import SourceId, TimelineId
from timeline.api.problems import problem_responses
from timeline.api.reads import conditional, read_responses
from timeline.api.schemas import ChangeCounts, SourceCreate, SourceCreated, TimelineCreate, TimelineUpdate
from timeline.errors import SourceNotFoundError
from timeline.models import Source, SourceStatus, Timeline
from timeline.store import ApplyResult

# Writes need a key; the OpenAPI document says so with the `bearer` security scheme.
GUARDS = [require_key]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 503)
# With a body: too large (413), or a title or slug holding control characters (422).
BODY_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422, 503)
FETCH_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422, 503)


def _counts(result: ApplyResult) -> ChangeCounts:
    return ChangeCounts(new=result.new, updated=result.updated, deleted=result.deleted)


class TimelineController(Controller):
    path = "/api/v1/timelines"
    tags = ["timelines"]  # noqa: RUF012 (Litestar reads it as a class attribute)

    @get("/", summary="Every timeline with its sources")
    async def list_timelines(self, services: NamedDependency[Services]) -> list[Timeline]:
        return await services.store.list_timelines()

    @post(
        "/",
        summary="Create a timeline",
        status_code=HTTP_201_CREATED,
        guards=GUARDS,
        security=BEARER,
        responses=BODY_PROBLEMS,
    )
    async def create_timeline(
        self, services: NamedDependency[Services], data: JSONBody[TimelineCreate]
    ) -> Timeline:
        return await services.store.create_timeline(data.title, slug=data.slug)

    @get(
        "/{timeline:str}",
        summary="One timeline with its sources and their health",
        responses=read_responses(Timeline, "The timeline."),
    )
    async def get_timeline(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], timeline: TimelineId
    ) -> Response[bytes]:
        # Source health changes without a seq, so this ETag hashes the body rather than naming a seq.
        body = orjson.dumps((await services.store.get_timeline(timeline)).model_dump(mode="json"))
        return conditional(request, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"', body)

    @patch(
        "/{timeline:str}",
        summary="Change a timeline's title or status",
        guards=GUARDS,
        security=BEARER,
        responses=BODY_PROBLEMS,
    )
    async def update_timeline(
        self, services: NamedDependency[Services], timeline: TimelineId, data: JSONBody[TimelineUpdate]
    ) -> Timeline:
        return await services.store.update_timeline(timeline, title=data.title, status=data.status)

    @delete(
        "/{timeline:str}",
        summary="Delete a timeline with its events",
        status_code=HTTP_204_NO_CONTENT,
        guards=GUARDS,
        security=BEARER,
        responses=WRITE_PROBLEMS,
    )
    async def delete_timeline(self, services: NamedDependency[Services], timeline: TimelineId) -> None:
        found = await services.store.get_timeline(timeline)
        await services.store.delete_timeline(found.id)

    @post(
        "/{timeline:str}/sources",
        summary="Attach a source and poll it first; a source whose first poll fails is not kept",
        status_code=HTTP_201_CREATED,
        guards=GUARDS,
        security=BEARER,
        responses=FETCH_PROBLEMS,
    )
    async def add_source(
        self, services: NamedDependency[Services], timeline: TimelineId, data: JSONBody[SourceCreate]
    ) -> SourceCreated:
        found = await services.store.get_timeline(timeline)
        source, result, read = await services.polling.attach(found.id, str(data.url), data.adapter)
        return SourceCreated(
            id=source.id,
            url=source.url,
            adapter=source.adapter,
            timeline_id=found.id,
            first_poll=_counts(result),
            found=read,
        )

    @delete(
        "/{timeline:str}/sources/{source_id:str}",
        summary="Detach a source; its events become tombstones",
        status_code=HTTP_204_NO_CONTENT,
        guards=GUARDS,
        security=BEARER,
        responses=WRITE_PROBLEMS,
    )
    async def remove_source(
        self, services: NamedDependency[Services], timeline: TimelineId, source_id: SourceId
    ) -> None:
        source = await _source_of(services, timeline, source_id)
        await services.store.remove_source(source.id)

    @post(
        "/{timeline:str}/sources/{source_id:str}/poll",
        summary="Poll a source now, as its schedule would; its health and next poll are updated",
        status_code=200,
        guards=GUARDS,
        security=BEARER,
        responses=FETCH_PROBLEMS,
    )
    async def poll_source(
        self, services: NamedDependency[Services], timeline: TimelineId, source_id: SourceId
    ) -> ChangeCounts:
        result = await services.polling.poll_now((await _source_of(services, timeline, source_id)).id)
        return _counts(result)


async def _source_of(services: NamedDependency[Services], timeline: str, source_id: SourceId) -> Source:
    found = await services.store.get_timeline(timeline)
    source = next((s for s in found.sources if s.id == source_id), None)
    if source is None:
        raise SourceNotFoundError(source_id)
    return source


@get(
    "/api/v1/sources",
    summary="Every source with its health; filter by status",
    tags=["sources"],
    responses=problem_responses(400, 503),
)
async def list_sources(
    services: NamedDependency[Services],
    status: Annotated[
        SourceStatus | None, QueryParameter(description="Only sources in this state, e.g. `failing`.")
    ] = None,
) -> list[Source]:
    return await services.store.list_sources(status=status)
