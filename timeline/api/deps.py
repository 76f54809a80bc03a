"""What handlers share, built once by the app's lifespan and handed to them by dependency injection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import PathParameter

from timeline.api.caching import PageCache, SeqCache
from timeline.api.fanout import Fanout
from timeline.hub import Hub
from timeline.keys import ApiKey, match_key
from timeline.metrics import Metrics
from timeline.models import Found, Source
from timeline.settings import Settings
from timeline.store import ApplyResult, Committed, Store

TimelineId = Annotated[str, PathParameter(description="Timeline id or slug.")]
EventId = Annotated[str, PathParameter(description="Event id (`ev_…`).")]
SourceId = Annotated[str, PathParameter(description="Source id (`src_…`).")]
# What keyed answers send: for this client only, never stored by a cache.
PRIVATE = {"Cache-Control": "private, no-store", "Vary": "Authorization"}


class SourcePolling(Protocol):
    """Polling for the API (the poll pipeline), injected by the composition root so the API never
    imports the fetcher. Both raise the poll's error (`FeedsError`…) when it fails."""

    async def attach(self, timeline_id: str, url: str, adapter: str) -> tuple[Source, ApplyResult, Found]: ...

    async def poll_now(self, source_id: str) -> ApplyResult: ...


@dataclass
class Services:
    settings: Settings
    store: Store
    polling: SourcePolling
    hub: Hub
    metrics: Metrics
    seqs: SeqCache
    fanout: Fanout
    pages: PageCache = field(default_factory=PageCache)
    streams: int = 0  # open SSE streams in this process
    keys: tuple[ApiKey, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.keys = self.settings.named_api_keys  # parsed once: every write request reads them

    async def wrote(self, committed: Committed) -> None:
        """The one exit of every write this process commits (the store reports each to it, see
        `Store.report_commits`): cached seqs, hence ETags and cached pages, move on at once, and every
        process's readers are told through the hub."""
        if committed.deleted:
            self.seqs.forget(committed.timeline_id)
            return
        self.seqs.advance(committed.timeline_id, committed.last_seq)
        await self.hub.publish(committed.timeline_id, committed.last_seq)

    async def timeline_id(self, timeline: str) -> str:
        """The id of `timeline` (an id or a slug), from the seq cache. Raises `TimelineNotFoundError`."""
        return (await self.seqs.get(timeline)).timeline_id


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


def require_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for writes: `Authorization: Bearer KEY` with a key from TIMELINE_API_KEYS."""
    authenticate(connection)


def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    """The key the request carries (`Authorization: Bearer KEY`); 401 without one, or with a header that
    is not ASCII (no key is), 403 when it is not one of TIMELINE_API_KEYS."""
    keys: tuple[ApiKey, ...] = connection.app.state.services.keys
    # Litestar reads header bytes as latin-1, so a header that is not ASCII arrives as other characters.
    header = connection.headers.get("authorization", "")
    if not header.isascii():
        raise NotAuthorizedException("The Authorization header must be ASCII: `Authorization: Bearer KEY`.")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException(
            "Writes need `Authorization: Bearer KEY` with a key from TIMELINE_API_KEYS."
        )
    if not keys:
        raise PermissionDeniedException("No API keys are configured on this server; set TIMELINE_API_KEYS.")
    found = match_key(token.strip().encode("ascii"), keys)
    if found is None:
        raise PermissionDeniedException("That API key is not valid here; check TIMELINE_API_KEYS.")
    return found
