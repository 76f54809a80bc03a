"""Wire shapes of the API: validated request bodies and documented responses (separate from tables)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal, get_args

from litestar.openapi.spec import Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.plugins.pydantic import PydanticSchemaPlugin
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from feeds.adapters import NAMES
from timeline.models import Change, Event, Redacted

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

AdapterName = Literal["auto", "guardian", "jsonld", "syndication", "wordpress"]
assert set(get_args(AdapterName)) == set(NAMES), "keep AdapterName in step with feeds.adapters.NAMES"

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# An RFC 3339 date-time, its offset optional (then UTC): all a time in a query may be. Litestar's own
# parsing would also take a number of seconds since 1970 ("0.5"), which the document does not offer.
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?")


class _Body(BaseModel):
    """A request body: unknown fields are refused (400), and the OpenAPI document says so."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClosedBodies(OpenAPISchemaPlugin):
    """Models that refuse unknown fields (`extra="forbid"`) get `additionalProperties: false`, which
    Litestar's pydantic plugin leaves out: a client reading the document must learn that extras are
    refused, not find out from a 400."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return (
            isinstance(value, type)
            and issubclass(value, BaseModel)
            and value.model_config.get("extra") == "forbid"
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = PydanticSchemaPlugin.for_pydantic_model(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


class TimelineCreate(_Body):
    title: str = Field(min_length=1, max_length=300, description="Human title of the timeline.")
    slug: str | None = Field(
        None,
        max_length=60,
        pattern=SLUG_PATTERN,
        description="URL name; derived from the title when absent.",
        json_schema_extra={"pattern": SLUG_PATTERN},  # Litestar drops the pattern of an optional field
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
    url: Redacted = Field(description="As attached; credentials in it are shown as `user:***@`.")
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
