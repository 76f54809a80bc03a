"""Every error as RFC 9457 `application/problem+json`, with a stable `type` and no stack trace.

Problems never show a URL's credentials: a detail may quote a source URL (a conflict, a fetch error), so
every text of a problem goes through `feeds.redact_credentials`.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import orjson
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    SerializationException,
)
from litestar.exceptions import ValidationException as LitestarValidationError
from litestar.openapi import ResponseSpec
from pydantic import BaseModel, Field

from feeds import redact_credentials
from feeds.errors import FeedsError
from timeline.api.bodies import MAX_BODY_BYTES, BodyTooDeepError
from timeline.api.schemas import CONTROL_CHARACTERS
from timeline.errors import (
    ConflictError,
    InvalidCursorError,
    NotFoundError,
    StorageError,
    TimelineError,
)

log = logging.getLogger("timeline.api")

TYPE_BASE = "https://liveblog-timeline.dev/problems/"
MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="Stable URI naming the kind of problem.")
    title: str
    status: int
    detail: str = Field(description="What went wrong and what to do next.")
    parameter: str | None = Field(None, description="The offending parameter or field, when there is one.")


_DOCUMENTED = {
    400: "The request is malformed: see `parameter` and `detail`.",
    401: "No API key: send `Authorization: Bearer KEY`.",
    403: "The API key is not valid here.",
    404: "No such timeline, source, event or webhook.",
    409: "Conflicts with what exists (a slug or source URL already taken), or an editor's change the event "
    "does not allow (it is deleted; an ingested event's body is its source's).",
    413: f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.",
    422: "The source could not be fetched or parsed, or a text holds control characters: `detail` says why.",
    503: "The database is unavailable; retry shortly.",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problems an operation can answer with."""
    return {
        status: ResponseSpec(
            Problem, generate_examples=False, description=_DOCUMENTED[status], media_type=MEDIA_TYPE
        )
        for status in statuses
    }


_STATUS: dict[type[TimelineError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    InvalidCursorError: 400,
    StorageError: 503,
}


def problem(
    status: int, kind: str, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response[bytes]:
    body = problem_body(status, kind, title, detail, **extra)
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def problem_body(status: int, kind: str, title: str, detail: str, **extra: Any) -> bytes:
    """The JSON of a problem, for answers made outside Litestar's handlers (see `timeline.api.edge`)."""
    body = {"type": TYPE_BASE + kind, "title": title, "status": status, "detail": detail}
    body.update((name, value) for name, value in extra.items() if value is not None)
    return orjson.dumps({name: _redacted(value) for name, value in body.items()})


def _redacted(value: Any) -> Any:
    return redact_credentials(value) if isinstance(value, str) else value


def _title(kind: str) -> str:
    return kind.replace(".", ": ").replace("_", " ").capitalize()


def timeline_error(_: Request[Any, Any, Any], exc: TimelineError) -> Response[bytes]:
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    if isinstance(exc, StorageError):
        log.error("storage error: %s", redact_credentials(exc.message))
        return problem(
            status, exc.kind, "Database unavailable", "The database did not answer; retry shortly."
        )
    parameter = exc.parameter if isinstance(exc, InvalidCursorError) else None
    return problem(status, exc.kind, _title(exc.kind), exc.message, parameter=parameter)


def feeds_error(_: Request[Any, Any, Any], exc: FeedsError) -> Response[bytes]:
    """A source that cannot be fetched or parsed: the upstream's fault, not the request's syntax."""
    return problem(422, exc.kind, "Source unusable", exc.message, parameter="url", url=exc.url)


def validation_error(_: Request[Any, Any, Any], exc: LitestarValidationError) -> Response[bytes]:
    errors = [_field_error(item) for item in exc.extra or []] if isinstance(exc.extra, list) else []
    detail = "; ".join(f"{e['parameter']}: {e['message']}" for e in errors) or str(exc.detail)
    parameter = errors[0]["parameter"] if errors else None
    if _only_control_characters(exc):  # well-formed, but text the service will not store or show
        return problem(422, "invalid_text", "Invalid text", detail, parameter=parameter, errors=errors)
    return problem(400, "invalid_request", "Invalid request", detail, parameter=parameter, errors=errors)


def _field_error(item: Any) -> dict[str, str]:
    if not isinstance(item, dict):
        return {"parameter": "body", "message": str(item)}
    if item.get("key") == "data":  # Litestar's name for a body that is missing altogether
        return {"parameter": "body", "message": "the request has no body; send a JSON object"}
    return {"parameter": str(item.get("key") or "body"), "message": str(item.get("message", item))}


def _only_control_characters(exc: LitestarValidationError) -> bool:
    """Whether every error is a text holding control characters (pydantic's errors, which Litestar keeps
    as the cause of its own)."""
    found = getattr(exc.__cause__, "errors", None)
    kinds = (
        {error.get("type") for error in found if isinstance(error, dict)}
        if isinstance(found, list)
        else set()
    )
    return kinds == {CONTROL_CHARACTERS}


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    kind = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
        exc.status_code, "http_error"
    )
    headers = (
        {"WWW-Authenticate": 'Bearer realm="timeline"'} if isinstance(exc, NotAuthorizedException) else None
    )
    if isinstance(exc, PermissionDeniedException | NotAuthorizedException):
        return problem(
            exc.status_code, kind, _title(kind), str(exc.detail), headers=headers, parameter="Authorization"
        )
    if exc.status_code == 400:
        return _bad_request(exc)
    if exc.status_code == 413:
        detail = f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB, which no request here needs."
        return problem(413, "too_large", "Request body too large", detail, parameter="body")
    return problem(exc.status_code, kind, _title(kind), str(exc.detail), headers=exc.headers)


def _bad_request(exc: HTTPException) -> Response[bytes]:
    """A 400 of Litestar's own, said as what it is: a body that is not JSON, a body nested too deeply, a
    `Host` header that names no host, or whatever else Litestar says."""
    if isinstance(exc.__cause__, SerializationException):
        detail = f"The request body is not valid JSON ({exc.detail}); send a JSON object."
        return problem(400, "invalid_request", "Invalid request", detail, parameter="body")
    if isinstance(exc, BodyTooDeepError):
        return problem(400, "invalid_request", "Invalid request", str(exc.detail), parameter="body")
    if "host header" in str(exc.detail).lower():
        detail = (
            "The Host header is not a valid host (a name or an address, and a port); send the server's name."
        )
        return problem(400, "invalid_request", "Invalid request", detail, parameter="Host")
    return problem(400, "invalid_request", "Invalid request", str(exc.detail))


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    request_id = secrets.token_hex(6)
    log.exception(
        "unhandled error on %s %s (request %s)", request.method, request.url.path, request_id, exc_info=exc
    )
    detail = f"Something went wrong on our side; the error was logged as request {request_id}."
    return problem(500, "internal", "Internal server error", detail, request_id=request_id)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    TimelineError: timeline_error,
    FeedsError: feeds_error,
    LitestarValidationError: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}
