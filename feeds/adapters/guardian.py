"""Guardian Content API item (`response.content` with `show-blocks`) → ParsedSnapshot.

Blocks come from `blocks.body` (newest first) and `blocks.requestedBodyBlocks` (`body:latest:N`,
`body:pinned`, `body:key-events`, …), merged by block id. Choices:

- A block listed under `body:pinned`, or with `attributes.pinned`, is one update with `pinned=True`.
- `attributes.summary` (an editor's recap of the blog so far) becomes the tag `"summary"`: it is neither a
  key event nor a summary of the update itself.
- The snapshot is `complete` when its updates number `blocks.totalBodyBlocks`: every block was listed,
  none was skipped as unreadable or left out by `Limits.max_updates`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import NamedTuple
from urllib.parse import quote

from feeds.adapters._common import (
    Clock,
    Raw,
    Warnings,
    absolute_url,
    as_list,
    build_updates,
    get,
    ident,
    json_refusal,
    load_json,
    text,
)
from feeds.adapters._error_bodies import error_message
from feeds.errors import InvalidDocumentError
from feeds.types import DEFAULT_LIMITS, Limits, Media, ParsedSnapshot, ParsedUpdate

NAME = "guardian"
_EXPECTED = "a Guardian Content API item (response.content)"
_IMAGE_WIDTH = 1000  # the largest rendition up to this width; the masters are several MB


class _Block(NamedTuple):
    raw: Raw
    pinned: bool


def parse(
    body: bytes, base_url: str, *, default_tz: tzinfo = UTC, limits: Limits = DEFAULT_LIMITS
) -> ParsedSnapshot:
    """Parse a Content API item response requested with `show-blocks=all` or `body:latest:N`."""
    document = load_json(body, base_url, _EXPECTED, limits)
    return read(document, base_url, default_tz=default_tz, limits=limits)


def read(
    document: object, base_url: str, *, default_tz: tzinfo = UTC, limits: Limits = DEFAULT_LIMITS
) -> ParsedSnapshot:
    """`parse` for a document already read as JSON."""
    content = _content(document, base_url)
    blocks = get(content, "blocks", dict)
    if blocks is None:
        raise InvalidDocumentError("the item has no blocks: request it with show-blocks=all", url=base_url)
    warnings = Warnings()
    merged = _merge(blocks, warnings)
    web_url = absolute_url(get(content, "webUrl", str), base_url)
    clock = Clock(default_tz, warnings)
    times = [clock.first(b.raw, "firstPublishedDate", "createdDate", "publishedDate") for b in merged]
    updates = build_updates(
        merged, times, lambda block, time, rank: _update(block, time, rank, web_url, clock), limits, warnings
    )
    return ParsedSnapshot(
        adapter=NAME,
        title=text(content, "webTitle"),
        url=web_url,
        complete=len(updates) == get(blocks, "totalBodyBlocks", int),
        ended=_ended(content),
        updates=tuple(updates),
        warnings=warnings.as_tuple(),
    )


def _content(document: object, url: str) -> Raw:
    response = get(document, "response", dict)
    if get(response, "status", str) == "error":
        message = error_message(document) or "no message"
        raise InvalidDocumentError(f"the Content API answered with an error: {message}", url=url)
    content = get(response, "content", dict)
    if content is None:
        raise json_refusal(document, url, _EXPECTED, "response.content is missing")
    return content


def _merge(blocks: Raw, warnings: Warnings) -> list[_Block]:
    merged: dict[str, _Block] = {}
    for list_name, raw in _listed_blocks(blocks, warnings):
        block_id = ident(raw.get("id"))
        if block_id is None:
            warnings.add(f"a block without an id in {list_name} was skipped")
            continue
        pinned = list_name == "body:pinned" or get(get(raw, "attributes", dict), "pinned", bool) is True
        known = merged.get(block_id)
        if known is None:
            merged[block_id] = _Block(raw, pinned)
        elif pinned:
            merged[block_id] = known._replace(pinned=True)
    return list(merged.values())


def _listed_blocks(blocks: Raw, warnings: Warnings) -> Iterator[tuple[str, Raw]]:
    lists = [("body", blocks.get("body"))]
    lists += (get(blocks, "requestedBodyBlocks", dict) or {}).items()
    for list_name, listed in lists:
        for raw in listed if isinstance(listed, list) else []:
            if isinstance(raw, dict):
                yield list_name, raw
            else:
                warnings.add(f"a block in {list_name} that is not an object was skipped")


def _ended(content: Raw) -> bool:
    live = (get(content, "fields", dict) or {}).get("liveBloggingNow")
    return live is False or (isinstance(live, str) and live.strip().lower() == "false")


def _update(
    block: _Block, published: datetime | None, position: int, web_url: str | None, clock: Clock
) -> ParsedUpdate:
    raw = block.raw
    attributes = get(raw, "attributes", dict)
    block_id = ident(raw.get("id")) or ""
    return ParsedUpdate(
        upstream_id=block_id,
        published_at=published,
        updated_at=clock.first(raw, "lastModifiedDate"),
        title=text(raw, "title") or text(attributes, "title"),
        body_html=get(raw, "bodyHtml", str) or "",
        url=_permalink(web_url, block_id),
        key_event=get(attributes, "keyEvent", bool) is True,
        pinned=block.pinned,
        authors=_authors(raw),
        tags=("summary",) if get(attributes, "summary", bool) else (),
        media=tuple(media for e in as_list(raw.get("elements")) if (media := _image(e)) is not None),
        position=position,
    )


def _permalink(web_url: str | None, block_id: str) -> str | None:
    if web_url is None:
        return None
    block = quote(f"block-{block_id}", safe="")
    return f"{web_url}?page=with:{block}#{block}"


def _authors(raw: Raw) -> tuple[str, ...]:
    creator = get(raw, "createdBy", dict)
    name = " ".join(part for part in (text(creator, "firstName"), text(creator, "lastName")) if part)
    if name:
        return (name,)
    names = (
        c.strip() if isinstance(c, str) else text(c, "webTitle") for c in as_list(raw.get("contributors"))
    )
    return tuple(name for name in names if name)


def _image(element: object) -> Media | None:
    if get(element, "type", str) != "image":
        return None
    url = absolute_url(_rendition(as_list(get(element, "assets", list))), "")
    if url is None:
        return None
    data = get(element, "imageTypeData", dict)
    return Media(url=url, kind="image", caption=text(data, "caption") or text(data, "alt"))


def _rendition(assets: list[object]) -> str | None:
    """The widest rendition up to `_IMAGE_WIDTH` wide, else the narrowest."""
    sized = sorted(
        (get(get(asset, "typeData", dict), "width", int) or 0, file)
        for asset in assets
        if (file := get(asset, "file", str))
    )
    fitting = [file for width, file in sized if width <= _IMAGE_WIDTH]
    return fitting[-1] if fitting else (sized[0][1] if sized else None)
