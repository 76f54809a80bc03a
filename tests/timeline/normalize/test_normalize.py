"""normalize(): ParsedSnapshot → ordered EventDrafts, and the content hash that drives revisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from feeds.types import Media, ParsedSnapshot, ParsedUpdate
from timeline.ids import event_id
from timeline.models import EventDraft
from timeline.normalize import normalize

NOW = datetime(2024, 5, 1, 18, 0, tzinfo=UTC)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _update(upstream_id: str = "b1", **fields: Any) -> ParsedUpdate:
    fields.setdefault("published_at", T0)
    fields.setdefault("body_html", "<p>Body</p>")
    return ParsedUpdate(upstream_id=upstream_id, **fields)


def _normalize(*updates: ParsedUpdate, now: datetime = NOW, url: str | None = None) -> list[EventDraft]:
    snapshot = ParsedSnapshot(adapter="test", url=url, updates=updates)
    return normalize(snapshot, source_id="src_1", now=now).drafts


def _one(update: ParsedUpdate, now: datetime = NOW) -> EventDraft:
    [draft] = _normalize(update, now=now)
    return draft


def test_maps_an_update_to_a_draft() -> None:
    draft = _one(
        _update(
            "block-1",
            updated_at=T0 + timedelta(minutes=5),
            title=" Goal! ",
            summary="<p>Summary &amp; more</p>",
            body_html='<p class="x">Hello <a href="https://news.example/">link</a></p>',
            url="https://news.example/live#block-1",
            key_event=True,
            pinned=True,
            position=3,
        )
    )
    assert draft.id == event_id("src_1", "block-1")
    assert (draft.source_id, draft.upstream_id) == ("src_1", "block-1")
    assert (draft.published_at, draft.time_estimated) == (T0, False)
    assert draft.updated_at == T0 + timedelta(minutes=5)
    assert (draft.title, draft.summary) == ("Goal!", "Summary & more")
    assert draft.body_html == '<p>Hello <a href="https://news.example/" rel="nofollow noopener">link</a></p>'
    assert draft.body_text == "Hello link"
    assert draft.url == "https://news.example/live#block-1"
    assert (draft.key_event, draft.pinned, draft.deleted, draft.position) == (True, True, False, 3)


def test_orders_by_published_at_then_position_then_id() -> None:
    updates = [
        _update("late", published_at=T0 + timedelta(minutes=1)),
        _update("second", position=2),
        _update("first", position=1),
        _update("tie-b", position=5),
        _update("tie-a", position=5),
    ]
    drafts = _normalize(*updates)
    tie = sorted(["tie-a", "tie-b"], key=lambda upstream: event_id("src_1", upstream))
    assert [d.upstream_id for d in drafts] == ["first", "second", *tie, "late"]


def test_times_are_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=2))
    draft = _one(_update(published_at=T0.astimezone(paris), updated_at=T0.astimezone(paris)))
    assert draft.published_at.utcoffset() == timedelta(0)
    assert draft.published_at == T0
    assert draft.updated_at is not None and draft.updated_at.utcoffset() == timedelta(0)
    assert draft.content_hash == _one(_update(updated_at=T0)).content_hash


def test_an_undated_update_gets_now_as_an_estimated_time() -> None:
    draft = _one(_update(published_at=None))
    assert (draft.published_at, draft.time_estimated) == (NOW, True)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _normalize(_update(), now=datetime(2024, 5, 1, 18, 0))


def test_empty_snapshot_gives_no_drafts() -> None:
    assert _normalize() == []


@pytest.mark.parametrize("value", [None, "", "   ", "<p> </p>", "\u200b"])
def test_empty_title_and_summary_become_none(value: str | None) -> None:
    draft = _one(_update(title=value, summary=value))
    assert (draft.title, draft.summary) == (None, None)


@pytest.mark.parametrize(
    "url", ["/live#b1", "javascript:alert(1)", "ftp://files.example/x", "mailto:x@news.example", ""]
)
def test_url_must_be_absolute_http(url: str) -> None:
    assert _one(_update(url=url)).url is None


def test_relative_body_links_resolve_against_the_snapshot_url() -> None:
    [draft] = _normalize(_update(body_html='<a href="/story">s</a>'), url="https://news.example/live/1")
    assert 'href="https://news.example/story"' in draft.body_html


def test_authors_and_tags_are_cleaned_and_deduplicated_in_order() -> None:
    draft = _one(
        _update(authors=(" Jane  Doe ", "", "John", "Jane Doe", "  "), tags=("uk", "uk ", "Q&amp;A"))
    )
    assert draft.authors == ("Jane Doe", "John")
    assert draft.tags == ("uk", "Q&A")


def test_media_keeps_only_http_urls() -> None:
    media = (
        Media(url=" https://img.example/a.jpg ", kind=" image ", caption="<b>A</b> photo"),
        Media(url="http://img.example/b.jpg"),
        Media(url="javascript:alert(1)"),
        Media(url="/relative.jpg"),
        Media(url="data:image/png;base64,AAAA"),
    )
    assert _one(_update(media=media)).media == (
        Media(url="https://img.example/a.jpg", kind="image", caption="A photo"),
        Media(url="http://img.example/b.jpg"),
    )


def test_duplicate_upstream_ids_are_merged() -> None:
    pinned_copy = _update("b1", pinned=True, body_html="<p>old</p>", updated_at=T0)
    body_copy = _update("b1", key_event=True, body_html="<p>new</p>", updated_at=T0 + timedelta(minutes=1))
    for updates in ([pinned_copy, body_copy], [body_copy, pinned_copy]):
        [draft] = [d for d in _normalize(*updates, _update("b2")) if d.upstream_id == "b1"]
        assert (draft.upstream_id, draft.body_text) == ("b1", "new")
        assert (draft.pinned, draft.key_event) == (True, True)


def test_duplicates_without_a_newer_copy_keep_the_first() -> None:
    drafts = _normalize(_update("b1", body_html="first"), _update("b2"), _update("b1", body_html="second"))
    assert [(d.upstream_id, d.body_text) for d in drafts if d.upstream_id == "b1"] == [("b1", "first")]
    assert len(drafts) == 2


def test_explicit_deletion_passes_through() -> None:
    assert _one(_update(deleted=True)).deleted is True


def test_same_input_gives_the_same_hash() -> None:
    update = _update(title="t", authors=("a",), media=(Media(url="https://img.example/a.jpg"),))
    assert _one(update).content_hash == _one(update.model_copy()).content_hash


def test_estimated_time_does_not_change_the_hash() -> None:
    update = _update(published_at=None)
    first, later = _one(update, now=NOW), _one(update, now=NOW + timedelta(hours=3))
    assert first.published_at != later.published_at
    assert first.content_hash == later.content_hash


@pytest.mark.parametrize(
    "change",
    [
        {"body_html": "<p>Edited body</p>"},
        {"title": "New title"},
        {"summary": "New summary"},
        {"url": "https://news.example/other"},
        {"published_at": T0 + timedelta(seconds=1)},
        {"published_at": None},
        {"key_event": True},
        {"pinned": True},
        {"deleted": True},
        {"authors": ("Someone",)},
        {"tags": ("new-tag",)},
        {"media": (Media(url="https://img.example/a.jpg"),)},
        {"media": (Media(url="https://img.example/a.jpg", caption="c"),)},
    ],
)
def test_visible_changes_change_the_hash(change: dict[str, Any]) -> None:
    base = _update()
    assert _one(base).content_hash != _one(base.model_copy(update=change)).content_hash


@pytest.mark.parametrize(
    "change",
    [
        {"updated_at": T0 + timedelta(hours=1)},
        {"position": 7},
        {"body_html": '<p class="new-class" style="x">Body</p>'},
        {"title": "  ", "summary": ""},
        {"authors": ("", " ")},
    ],
)
def test_invisible_changes_keep_the_hash(change: dict[str, Any]) -> None:
    base = _update(title=None, summary=None)
    assert _one(base).content_hash == _one(base.model_copy(update=change)).content_hash


def test_hash_is_short_stable_hex() -> None:
    digest = _one(_update()).content_hash
    assert len(digest) == 32
    int(digest, 16)
