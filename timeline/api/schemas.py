"""Wire shapes of the API: validated request bodies and documented responses (separate from tables)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from litestar.openapi.spec import Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.plugins.pydantic import PydanticSchemaPlugin
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl
from pydantic_core import PydanticCustomError

from feeds.adapters import NAMES
from timeline.models import Change, Event, Found, Redacted

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

AdapterName = Literal["auto", "guardian", "jsonld", "syndication", "wordpress"]
assert set(get_args(AdapterName)) == set(NAMES), "keep AdapterName in step with feeds.adapters.NAMES"

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# An RFC 3339 date-time, its offset optional (then UTC): all a time in a query may be. Litestar's own
# parsing would also take a number of seconds since 1970 ("0.5"), which the document does not offer.
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?")


# Titles are plain text on one line. Control characters (C0 but tab and line breaks, DEL, C1) are refused
# (422): they are invisible, and some break what carries a title (NUL is not allowed in HTML or XML, and
# ends C strings). Tabs and line breaks, which a pasted title often holds, become single spaces.
CONTROL_CHARACTERS = "control_characters"  # pydantic's error type; `problems` answers it with 422
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[ \t]*[\t\r\n][ \t\r\n]*")
# White space as JSON Schema patterns (ECMAScript) read `\s`, stripped at both ends of a title: then
# `TITLE_PATTERN` below says exactly what the server takes.
_SPACE = "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
_SPACE += "\u2028\u2029\u202f\u205f\u3000\ufeff"
# No control character but tab and line breaks, and something besides white space.
_TEXT_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
TITLE_PATTERN = rf"^{_TEXT_CHAR}*[^\s\x00-\x1f\x7f-\x9f]{_TEXT_CHAR}*$"


def _refuse_controls(value: str, what: str) -> None:
    found = _CONTROL.search(value)
    if found is not None:
        raise PydanticCustomError(
            CONTROL_CHARACTERS,
            "control character U+{code} at position {position}; {what}",
            {"code": f"{ord(found.group()):04X}", "position": found.start(), "what": what},
        )


def _one_line(value: object) -> object:
    if not isinstance(value, str):
        return value  # pydantic says what is wrong with it
    _refuse_controls(value, "titles are plain text (tabs and line breaks become spaces)")
    return _LINE_BREAKS.sub(" ", value).strip(_SPACE)


def _slug_text(value: object) -> object:
    if isinstance(value, str):
        _refuse_controls(value, "slugs are lower-case letters, digits and hyphens")
    return value


Title = Annotated[str, BeforeValidator(_one_line)]
Slug = Annotated[str, BeforeValidator(_slug_text)]


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
    title: Title = Field(
        min_length=1,
        max_length=300,
        pattern=TITLE_PATTERN,
        description="Human title of the timeline: plain text, not only white space, no control characters "
        "(tabs and line breaks become spaces).",
        json_schema_extra={"pattern": TITLE_PATTERN},  # Litestar drops the pattern of an annotated type
    )
    slug: Slug | None = Field(
        None,
        max_length=60,
        pattern=SLUG_PATTERN,
        description="URL name; derived from the title when absent.",
        json_schema_extra={"pattern": SLUG_PATTERN},  # Litestar drops the pattern of an optional field
    )


class TimelineUpdate(_Body):
    title: Title | None = Field(
        None,
        min_length=1,
        max_length=300,
        pattern=TITLE_PATTERN,
        description="As when created.",
        json_schema_extra={"pattern": TITLE_PATTERN},  # as above, and of an optional field too
    )
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
    found: Found = Field(description="What the first poll read: the format, the blog's title, its updates.")


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
