"""Configuration from `TIMELINE_*` environment variables, loaded once and passed down."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, get_args
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from timeline.keys import ApiKey, parse_api_keys

# A CSP source expression: a keyword, `*`, a scheme, or [scheme://]host[:port][/path] (no `;` or `,`).
_FRAME_SOURCE = re.compile(
    r"'self'|'none'|\*|[a-z][a-z0-9+.-]*:|([a-z][a-z0-9+.-]*://)?[\w*.-]+(:(\d+|\*))?(/[\w./~-]*)?", re.I
)


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIMELINE_", env_file=None, extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///./timeline.db",
        description="SQLAlchemy URL: `sqlite+aiosqlite:///path.db` or `postgresql+asyncpg://user@host/db`.",
    )
    db_pool_size: int = Field(5, ge=1, description="PostgreSQL connections each process keeps open.")
    db_max_overflow: int = Field(10, ge=0, description="More PostgreSQL connections opened under load.")
    db_pool_timeout: float = Field(30.0, gt=0, description="Seconds a query waits for a free connection.")
    db_wait: float = Field(
        60.0, ge=0, description="Seconds `api` and `worker` wait at start for the database and its schema."
    )
    allow_private_sources: bool = Field(
        False, description="Allow sources on loopback/private addresses (for local test upstreams)."
    )
    contact_url: str = Field(
        "https://github.com/liveblog-timeline/liveblog-timeline",
        description="Where publishers can reach the operator; sent in the User-Agent.",
    )
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to establish an upstream connection.")
    fetch_timeout: float = Field(20.0, gt=0, description="Seconds for a whole upstream request.")
    max_body_bytes: int = Field(10 * 1024 * 1024, gt=0, description="Upstream body cap, after decompression.")
    max_redirects: int = Field(5, ge=0)
    api_keys: str = Field(
        "",
        description="Comma-separated keys for write requests (`Authorization: Bearer KEY`), each `NAME:KEY` "
        "or a bare KEY (named `keyN` by its position); the audit log records the name.",
    )
    poll_interval: float = Field(30.0, gt=0, description="Base seconds between polls of a source.")
    poll_min_interval: float = Field(10.0, gt=0, description="Floor while a blog updates quickly.")
    poll_max_interval: float = Field(600.0, gt=0, description="Ceiling while a blog is quiet.")
    poll_per_host: int = Field(2, ge=1, description="Concurrent requests to one upstream host.")
    poll_concurrency: int = Field(50, ge=1, description="Concurrent polls per poller process.")
    poll_lease_seconds: float = Field(120.0, gt=0, description="How long a claimed source stays leased.")
    respect_robots: bool = Field(True, description="Obey robots.txt; turn off only for sources you own.")
    delete_confirm_polls: int = Field(
        3, ge=1, description="Polls in a row (over 2 min at least) that must confirm a held mass deletion."
    )
    flap_window: float = Field(
        600.0, ge=0, description="Seconds after an edit during which a return to a recent version is ignored."
    )
    parse_workers: int | None = Field(
        None, ge=1, description="Processes that parse fetched documents; default: one per core."
    )
    parse_timeout: float = Field(10.0, gt=0, description="Seconds one document may take to parse.")
    max_updates: int = Field(
        5_000, ge=1, description="Updates read from one document: the newest are kept, with a warning."
    )
    parse_memory_mb: int = Field(
        512, ge=16, description="Memory (MB) a parse worker may take on top of what it holds when idle."
    )
    webhook_retry_hours: float = Field(
        24.0, gt=0, description="Hours a webhook keeps failing before it is disabled (its reason shown)."
    )
    webhook_retry_base: float = Field(
        5.0, gt=0, description="Seconds before a failed webhook delivery is first retried; doubles after."
    )
    webhook_concurrency: int = Field(4, ge=1, description="Concurrent webhook requests to one receiver host.")
    webhook_timeout: float = Field(10.0, gt=0, description="Seconds a webhook receiver has to answer.")
    webhook_lease_seconds: float = Field(
        60.0, gt=0, description="How long a process holds a webhook it delivers to (renewed while it does)."
    )
    hub: Literal["memory", "postgres"] = Field(
        "memory", description="How processes learn of changes: `memory` (one process) or `postgres` (NOTIFY)."
    )
    max_streams: int = Field(10_000, ge=1, description="Open SSE streams per API process.")
    stream_queue: int = Field(
        256, ge=1, description="Frames an SSE reader may lag behind before it is dropped."
    )
    public_url: str | None = Field(
        None,
        description="Public base URL (`https://timeline.example`) for embed and oEmbed links; "
        "derived from each request when unset.",
    )
    embed_frame_ancestors: str = Field(
        "*", description="CSP `frame-ancestors` of `/embed/{id}`: who may frame it (space-separated sources)."
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: LogLevel | None = Field(
        None,
        description="Level of the service's own log lines; unset: INFO for `serve`, `api`, `worker` and "
        "`demo`, WARNING for one-shot commands.",
    )
    log_format: Literal["text", "json"] = Field("text", description="`text` lines or one JSON object a line.")
    log_queue: int = Field(
        10_000, ge=1, description="Log records a long-running process holds while its output is blocked."
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("TIMELINE_PUBLIC_URL must be an http(s) URL such as https://timeline.example")
        return value.rstrip("/")

    @field_validator("embed_frame_ancestors")
    @classmethod
    def _frame_ancestors(cls, value: str) -> str:
        sources = value.split()
        if not sources or not all(_FRAME_SOURCE.fullmatch(source) for source in sources):
            raise ValueError(
                "TIMELINE_EMBED_FRAME_ANCESTORS must be CSP sources separated by spaces, "
                "e.g. `*`, `'self'`, `'none'` or `https://news.example https://*.news.example`"
            )
        return " ".join(sources)

    @field_validator("api_keys")
    @classmethod
    def _api_keys(cls, value: str) -> str:
        parse_api_keys(value)  # refused at start, not on the first request that sends a key
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"TIMELINE_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
        return value.strip().upper()

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        if not isinstance(value, str) or value.strip().lower() not in ("text", "json"):
            raise ValueError(f"TIMELINE_LOG_FORMAT must be text or json, not {value!r}")
        return value.strip().lower()

    @property
    def named_api_keys(self) -> tuple[ApiKey, ...]:
        return parse_api_keys(self.api_keys)


def explain(error: ValidationError) -> str:
    """What is wrong with the environment, naming each variable as the operator sets it."""
    problems = []
    for problem in error.errors():
        variable = "TIMELINE_" + "_".join(str(part) for part in problem["loc"]).upper()
        message = problem["msg"].removeprefix("Value error, ")
        problems.append(message if message.startswith(variable) else f"{variable}: {message}")
    return "; ".join(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
