"""The Litestar application: `create_app(settings, polling=…)`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar, Response, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from timeline.api.bodies import MAX_BODY_BYTES, JSONRequest
from timeline.api.caching import SeqCache
from timeline.api.deps import Services, SourcePolling, provide_services
from timeline.api.edge import Edge, allowed_methods, has_websockets
from timeline.api.editorial import audit, current_key, preview
from timeline.api.events import EventController
from timeline.api.fanout import Fanout
from timeline.api.health import healthz, prometheus_metrics, readyz
from timeline.api.problems import EXCEPTION_HANDLERS, problem
from timeline.api.reads import CacheFront
from timeline.api.schemas import ClosedBodies
from timeline.api.stream import StreamController
from timeline.api.syndication import SyndicationController
from timeline.api.timelines import TimelineController, list_sources
from timeline.api.webhooks import WebhookController
from timeline.hub import Hub
from timeline.hub.memory import MemoryHub
from timeline.metrics import Metrics
from timeline.settings import Settings
from timeline.store import Store
from timeline.store.engine import Pool

PollingFactory = Callable[[Store], AbstractAsyncContextManager[SourcePolling]]


def create_app(
    settings: Settings,
    *,
    polling: PollingFactory,
    hub: Hub | None = None,
    metrics: Metrics | None = None,
    migrate: bool = False,
    pages: Sequence[ControllerRouterHandler] = (),
) -> Litestar:
    """The API over the database of `settings`; `polling` gives it a way to poll sources (from the CLI).

    `hub` and `metrics` may be shared with pollers running in the same process; `migrate=True`
    upgrades the schema on start (the one-command `timeline serve`). `pages` are more routes served
    beside the API: the composition root mounts `timeline.web` (widget, embed page, oEmbed) there, since
    those build on this package and so cannot be imported by it.
    """
    app_hub = hub or MemoryHub()
    app_metrics = metrics or Metrics()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with (
            await Store.open(settings.database_url, migrate=migrate, pool=Pool.of(settings)) as store,
            polling(store) as pipeline,
        ):
            seqs = SeqCache(store.timeline_seq)
            fanout = Fanout(store, seqs, queue_bound=settings.stream_queue)
            app.state.services = Services(
                settings=settings,
                store=store,
                polling=pipeline,
                hub=app_hub,
                metrics=app_metrics,
                seqs=seqs,
                fanout=fanout,
            )
            # Before the first await: no write of this process's pollers can commit unreported.
            store.report_commits(app.state.services.wrote)
            await app_hub.start(fanout.on_change, fanout.on_resync)
            try:
                yield
            finally:
                await fanout.close()
                await app_hub.close()

    app = Litestar(
        route_handlers=[
            TimelineController,
            EventController,
            audit,
            current_key,
            preview,
            SyndicationController,
            StreamController,
            WebhookController,
            list_sources,
            healthz,
            readyz,
            prometheus_metrics,
            *pages,
        ],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        openapi_config=_openapi(),
        plugins=[ClosedBodies()],
        request_class=JSONRequest,
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
        logging_config=None,  # the process (timeline.cli) configures logging once
    )
    # In front of the router, so that HEAD, OPTIONS, CORS and codings hold for every answer, errors and
    # the cache front's included (Litestar's middleware runs only once a route is found), and every
    # request is counted, those the front answers without Litestar included.
    front = CacheFront(app.asgi_handler, app)
    allowed, websockets = allowed_methods(app.routes), has_websockets(app.routes)
    app.asgi_handler = Edge(front, allowed, app_metrics.http.count, websockets=websockets)
    return app


def _openapi() -> OpenAPIConfig:
    bearer = SecurityScheme(type="http", scheme="bearer", description="A key from TIMELINE_API_KEYS.")
    return OpenAPIConfig(
        title="liveblog-timeline",
        version="1",
        description="Live blogs as ordered, live event timelines. Reads are public; writes need a key.",
        path="/schema",
        components=Components(security_schemes={"bearer": bearer}),
        # Litestar answers an unknown page under /schema with an HTML page of its own: a problem instead.
        openapi_router=Router(
            "/schema", route_handlers=[], include_in_schema=False, after_request=_no_html_404
        ),
    )


def _no_html_404(response: Response[Any]) -> Response[Any]:
    if response.status_code != 404:
        return response
    return problem(404, "not_found", "Not found", "No such page of the API's description; try /schema.")
