"""TimelineJS3's JSON format, as a checker: what its documentation (timeline.knightlab.com, "JSON
format") says a document holds, and what its loader (`TimelineConfig`) refuses besides (no events).
Written for these tests from those descriptions."""

from __future__ import annotations

from typing import Any

DATE_PARTS = {"year", "month", "day", "hour", "minute", "second", "millisecond"}
DATE_FIELDS = DATE_PARTS | {"display_date", "format"}
TEXT_FIELDS = {"headline", "text"}
MEDIA_FIELDS = {"url", "caption", "credit", "thumbnail", "alt", "title", "link", "link_target"}
SLIDE_FIELDS = {"start_date", "end_date", "text", "media", "group", "display_date", "background"}
SLIDE_FIELDS |= {"autolink", "unique_id"}
DOCUMENT_FIELDS = {"events", "title", "eras", "scale"}


def problems(document: Any) -> list[str]:
    """Everything in `document` TimelineJS3 would not take, in words; empty when it would."""
    if not isinstance(document, dict):
        return ["the document is not an object"]
    found = _unknown(document, DOCUMENT_FIELDS, "document")
    events = document.get("events")
    if not isinstance(events, list) or not events:
        found.append('no events: TimelineJS refuses it ("Timeline configuration has no events.")')
    for number, slide in enumerate(events if isinstance(events, list) else []):
        found += _slide(slide, f"events[{number}]", dated=True)
    if "title" in document:
        found += _slide(document["title"], "title", dated=False)
    if document.get("scale", "human") not in ("human", "cosmological"):
        found.append("scale is neither human nor cosmological")
    return found


def _slide(slide: Any, where: str, *, dated: bool) -> list[str]:
    if not isinstance(slide, dict):
        return [f"{where} is not an object"]
    found = _unknown(slide, SLIDE_FIELDS, where)
    if dated and "start_date" not in slide:
        found.append(f"{where} has no start_date")
    for name in ("start_date", "end_date"):
        if name in slide:
            found += _date(slide[name], f"{where}.{name}")
    if "text" in slide:
        found += _strings(slide["text"], TEXT_FIELDS, f"{where}.text")
    if "media" in slide:
        found += _strings(slide["media"], MEDIA_FIELDS, f"{where}.media")
        if not slide["media"].get("url"):
            found.append(f"{where}.media has no url")
    for name in ("group", "display_date", "unique_id"):
        if name in slide and not isinstance(slide[name], str):
            found.append(f"{where}.{name} is not a string")
    return found


def _date(date: Any, where: str) -> list[str]:
    if not isinstance(date, dict):
        return [f"{where} is not an object"]
    found = _unknown(date, DATE_FIELDS, where)
    if not isinstance(date.get("year"), int):
        found.append(f"{where} has no year (a number)")
    found += [
        f"{where}.{name} is not a number" for name in DATE_PARTS & set(date) if type(date[name]) is not int
    ]
    return found


def _strings(value: Any, allowed: set[str], where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} is not an object"]
    found = _unknown(value, allowed, where)
    return found + [
        f"{where}.{name} is not a string" for name, item in value.items() if not isinstance(item, str)
    ]


def _unknown(value: dict[str, Any], allowed: set[str], where: str) -> list[str]:
    return [f"{where} has {name!r}, which the format does not have" for name in set(value) - allowed]
