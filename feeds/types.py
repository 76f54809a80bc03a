"""Values the adapters produce: source-shaped, unsanitized, times already in UTC."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Media(_Frozen):
    """An image, video or other attachment of an update."""

    url: str = Field(description="Absolute URL of the media item.")
    kind: str | None = Field(None, description="MIME type or broad kind (`image`, `video`) when known.")
    caption: str | None = Field(None, description="Caption or alt text, plain text.")


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
    updates: tuple[ParsedUpdate, ...] = ()
    warnings: tuple[str, ...] = Field(
        (), description="What was wrong but repaired or skipped, one human sentence each."
    )
