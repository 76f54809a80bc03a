"""Configuration from `TIMELINE_*` environment variables, loaded once and passed down."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIMELINE_", env_file=None, extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///./timeline.db",
        description="SQLAlchemy URL: `sqlite+aiosqlite:///path.db` or `postgresql+asyncpg://user@host/db`.",
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
        "", description="Comma-separated keys for write requests (`Authorization: Bearer KEY`)."
    )
    poll_interval: float = Field(30.0, gt=0, description="Base seconds between polls of a source.")
    poll_min_interval: float = Field(10.0, gt=0, description="Floor while a blog updates quickly.")
    poll_max_interval: float = Field(600.0, gt=0, description="Ceiling while a blog is quiet.")
    poll_per_host: int = Field(2, ge=1, description="Concurrent requests to one upstream host.")
    poll_concurrency: int = Field(50, ge=1, description="Concurrent polls per poller process.")
    poll_lease_seconds: float = Field(120.0, gt=0, description="How long a claimed source stays leased.")
    respect_robots: bool = Field(True, description="Obey robots.txt; turn off only for sources you own.")
    hub: Literal["memory", "postgres"] = Field(
        "memory", description="How processes learn of changes: `memory` (one process) or `postgres` (NOTIFY)."
    )
    max_streams: int = Field(10_000, ge=1, description="Open SSE streams per API process.")
    stream_queue: int = Field(
        256, ge=1, description="Frames an SSE reader may lag behind before it is dropped."
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    @property
    def api_key_list(self) -> tuple[str, ...]:
        return tuple(key.strip() for key in self.api_keys.split(",") if key.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
