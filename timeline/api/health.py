"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency

from timeline.api.deps import Services
from timeline.api.problems import problem, problem_responses
from timeline.errors import StorageError
from timeline.metrics import CONTENT_TYPE


@get("/healthz", summary="Liveness: the process answers", tags=["operations"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/readyz",
    summary="Readiness: the database answers",
    tags=["operations"],
    responses=problem_responses(503),
)
async def readyz(services: NamedDependency[Services]) -> Response[bytes] | dict[str, str]:
    try:
        await services.store.ping()
    except StorageError as exc:
        return problem(503, "not_ready", "Not ready", f"The database is unreachable: {exc.message}")
    return {"status": "ready"}


@get("/metrics", summary="Prometheus metrics of this process", tags=["operations"], media_type=CONTENT_TYPE)
async def prometheus_metrics(services: NamedDependency[Services]) -> bytes:
    return services.metrics.render()
