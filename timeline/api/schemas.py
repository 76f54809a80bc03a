"""Wire shapes of the API: validated request bodies and documented responses (separate from tables)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from feeds.adapters import NAMES
from timeline.models import Change, Event

AdapterName = Literal["auto", "guardian", "jsonld", "syndication", "wordpress"]
assert set(get_args(AdapterName)) == set(NAMES), "keep AdapterName in step with feeds.adapters.NAMES"

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TimelineCreate(_Body):
    title: str = Field(min_length=1, max_length=300, description="Human title of the timeline.")
    slug: str | None = Field(
        None, max_length=60, pattern=SLUG_PATTERN, description="URL name; derived from the title when absent."
    )


class TimelineUpdate(_Body):
    title: str | None = Field(None, min_length=1, max_length=300)
    status: Literal["live", "ended"] | None = None


class SourceCreate(_Body):
    url: HttpUrl = Field(description="The live blog to follow: an http(s) URL.")
    adapter: AdapterName = Field("auto", description="Source format; `auto` detects it from the response.")


class ChangeCounts(BaseModel):
    new: int
    updated: int
    deleted: int


class SourceCreated(BaseModel):
    """The new source, and what its first poll stored."""

    id: str
    url: str
    adapter: str
    timeline_id: str
    first_poll: ChangeCounts


class EventPage(BaseModel):
    events: list[Event] = Field(description="Events in the requested order.")
    pinned: list[Event] = Field(description="Pinned events, newest first (also listed at their time).")
    next: str | None = Field(description="Cursor: pass as `after` to read on; null at the end.")
    prev: str | None = Field(description="Cursor: pass as `before` to go back; null at the start.")
    last_seq: int = Field(description="The timeline's seq when this page was read: start `changes` here.")


class ChangePage(BaseModel):
    changes: list[Change] = Field(description="Upserts and tombstones after `since`, ascending by seq.")
    next_since: int = Field(description="Pass as `since` for the next call.")
    last_seq: int
