"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from timeline.api.deps import Services
from timeline.api.problems import problem_responses
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
async def readyz(services: NamedDependency[Services]) -> dict[str, str]:
    await services.store.ping()  # StorageError → 503 problem+json
    return {"status": "ready"}


@get("/metrics", summary="Prometheus metrics of this process", tags=["operations"], media_type=CONTENT_TYPE)
async def prometheus_metrics(services: NamedDependency[Services]) -> bytes:
    return services.metrics.render()
