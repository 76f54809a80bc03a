"""Values the adapters produce (source-shaped, unsanitized, times in UTC), and the limits they read within."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PositiveInt


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Media(_Frozen):
    """An image, video or other attachment of an update."""

    url: str = Field(description="Absolute URL of the media item.")
    kind: str | None = Field(None, description="MIME type or broad kind (`image`, `video`) when known.")
    caption: str | None = Field(None, description="Caption or alt text, plain text.")
    size: PositiveInt | None = Field(
        None,
        description="Size in bytes as the source declared it (an enclosure's `length`, Media RSS `fileSize`, "
        "JSON Feed `size_in_bytes`), when it did: advisory, as in Atom.",
    )


class ParsedUpdate(_Frozen):
    """One update of a live blog as the source shows it.

    `body_html` is the upstream HTML as-is: it is sanitized by `timeline.normalize`, never here.
    """

    upstream_id: str = Field(min_length=1, description="The source's own id for the update, stripped.")
    published_at: AwareDatetime | None = Field(
        None, description="First publication time (UTC); None when the source gives no time at all."
    )
    updated_at: AwareDatetime | None = Field(None, description="Last upstream modification (UTC), if known.")
    title: str | None = None
    summary: str | None = Field(None, description="Short summary, HTML or text as the source has it.")
    body_html: str = Field("", description="Upstream HTML body, unsanitized.")
    url: str | None = Field(None, description="Absolute permalink of the update, if the source has one.")
    key_event: bool = False
    pinned: bool = False
    deleted: bool = Field(
        False, description="The source explicitly deleted this update (WordPress `type: delete`)."
    )
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    position: int = Field(
        0,
        description="The source's own order among updates sharing a publication time: larger is later.",
    )


class ParsedSnapshot(_Frozen):
    """Everything one fetch of a source says.

    `complete` means the snapshot lists every live update of the blog, so an update missing from it was
    deleted upstream. Sliding windows (feeds, paged or incremental responses) are never complete.
    """

    adapter: str = Field(description="Name of the adapter that parsed the document.")
    title: str | None = None
    url: str | None = Field(None, description="Canonical URL of the live blog, absolute.")
    complete: bool = False
    ended: bool = Field(False, description="The source says the live blog has ended.")
    coverage_start: AwareDatetime | None = Field(
        None, description="When the source says its coverage began (JSON-LD `coverageStartTime`), UTC."
    )
    coverage_end: AwareDatetime | None = Field(
        None, description="When the source says its coverage ends (JSON-LD `coverageEndTime`), UTC."
    )
    updates: tuple[ParsedUpdate, ...] = ()
    warnings: tuple[str, ...] = Field(
        (), description="What was wrong but repaired or skipped, one human sentence each."
    )


class Limits(_Frozen):
    """What an adapter reads of one document at most; past these it refuses the document or cuts it.

    Parsing is pure and runs on every changed poll, so a hostile or broken upstream must not make it spin
    or fill the database: these bounds keep its work and its output proportional to a real live blog's.
    """

    max_updates: PositiveInt = Field(
        5_000,
        description="Updates kept from one document: the newest ones (by publication time, then the "
        "document's own order; updates without a time count as the newest), with a warning for the rest. "
        "Real live blogs hold a few hundred; a feed or a page shows fewer.",
    )
    max_depth: PositiveInt = Field(
        128,
        description="Nesting (JSON containers, XML or HTML elements) past which a document is refused. API "
        "JSON nests about 10 levels, feeds under 10, HTML pages rarely past 40; some parsers slow down "
        "with depth (an HTML tree builder checks the open elements on every tag).",
    )
    max_title_chars: PositiveInt = Field(
        1_000, description="Headlines run under 200 characters; a longer title is cut, with a warning."
    )
    max_summary_chars: PositiveInt = Field(
        10_000,
        description="A summary is a paragraph or a short list; a summary this long is the whole text, "
        "which the body already has.",
    )
    max_body_chars: PositiveInt = Field(
        250_000,
        description="An update's body is a few kilobytes; transcripts and long tables reach 100 KB. This "
        "keeps those whole and bounds what one event stores and renders.",
    )


DEFAULT_LIMITS = Limits()
