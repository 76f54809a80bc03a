"""The editorial layer's pure decisions (`timeline.store._editorial`), with no database."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from timeline.errors import EventDeletedError, SourcedContentError
from timeline.models import Media, Overrides
from timeline.store._editorial import (
    Current,
    Post,
    Sourced,
    clean,
    decide_delete,
    decide_edit,
    shown,
)

from .drafts import T0

POST = clean(Post(body_html="<p>Ours</p>", published_at=T0, title="What we know"))
INGESTED = Current("ev_a", deleted=False, overrides=Overrides(), post=None)
EDITORIAL = Current("ev_p", deleted=False, overrides=Overrides(), post=POST)


@given(
    title=st.sampled_from((None, "Source")),
    pinned=st.booleans(),
    key=st.booleans(),
    o_title=st.sampled_from((None, "Ours")),
    o_pinned=st.sampled_from((None, True, False)),
    o_key=st.sampled_from((None, True, False)),
)
def test_an_override_wins_where_set_and_the_source_shows_through_elsewhere(
    title: str | None, pinned: bool, key: bool, o_title: str | None, o_pinned: bool | None, o_key: bool | None
) -> None:
    overrides = Overrides(title=o_title, pinned=o_pinned, key_event=o_key)
    seen = shown(Sourced(title, pinned, key), overrides)
    assert seen.title == (o_title if o_title is not None else title)
    assert seen.pinned == (pinned if o_pinned is None else o_pinned)
    assert seen.key_event == (key if o_key is None else o_key)
    assert shown(Sourced(title, pinned, key), Overrides()) == Sourced(title, pinned, key)


def test_overrides_are_set_cleared_and_a_repeat_is_no_change() -> None:
    edit = decide_edit(INGESTED, {"pinned": True, "note": " Checked\n <b>twice</b> &amp; "})
    note = "Checked <b>twice</b> &amp;"  # as typed: an editor's text is not read as HTML
    assert edit is not None and edit.overrides == Overrides(pinned=True, note=note)
    assert edit.changes == {"pinned": (None, True), "note": (None, note)}
    after = INGESTED._replace(overrides=edit.overrides)
    assert decide_edit(after, {"pinned": True}) is None
    assert decide_edit(after, {"note": note}) is None
    cleared = decide_edit(after, {"pinned": None, "hidden": None, "note": ""})
    assert cleared is not None and cleared.overrides == Overrides()


@pytest.mark.parametrize("field", ["body_html", "published_at", "authors", "media"])
def test_an_ingested_events_content_is_its_sources(field: str) -> None:
    with pytest.raises(SourcedContentError) as refused:
        decide_edit(INGESTED, {field: None, "pinned": True})
    assert refused.value.fields == [field]


def test_a_deleted_event_cannot_be_changed_and_deleting_is_once() -> None:
    for current in (INGESTED._replace(deleted=True), EDITORIAL._replace(deleted=True)):
        with pytest.raises(EventDeletedError):
            decide_edit(current, {"note": "x"})
    with pytest.raises(EventDeletedError):
        decide_delete(INGESTED._replace(deleted=True))
    assert decide_delete(EDITORIAL._replace(deleted=True)) is None
    hidden = decide_delete(INGESTED)
    assert hidden is not None and (hidden.action, hidden.overrides.hidden, hidden.deleted) == (
        "delete",
        True,
        False,
    )
    assert decide_delete(INGESTED._replace(overrides=Overrides(hidden=True))) is None
    gone = decide_delete(EDITORIAL)
    assert gone is not None and gone.deleted and gone.changes == {"deleted": (False, True)}


def test_a_posts_title_and_flags_are_its_content_and_null_clears_them() -> None:
    edit = decide_edit(EDITORIAL, {"title": None, "pinned": True, "note": "n", "authors": ["Desk"]})
    assert edit is not None and edit.post is not None
    assert (edit.post.title, edit.post.pinned, edit.post.authors) == (None, True, ("Desk",))
    assert edit.overrides == Overrides(note="n")  # no title or pin override on a post
    assert set(edit.changes) == {"title", "pinned", "note", "authors"}
    with pytest.raises(ValueError, match="body_html cannot be null"):
        decide_edit(EDITORIAL, {"body_html": None})
    assert decide_edit(EDITORIAL, {"body_html": "<p>Ours</p><script>x()</script>"}) is None  # same once clean


_HTML = st.text(alphabet="<>/=\"' &;abpimgscrthfe:.1", max_size=60)


@settings(max_examples=300, deadline=None)
@given(body=_HTML, title=st.one_of(st.none(), _HTML), author=_HTML)
def test_cleaning_a_clean_post_changes_nothing(body: str, title: str | None, author: str) -> None:
    """An edit re-cleans the stored post: were cleaning not idempotent, an edit that changes nothing would
    record a change."""
    media: tuple[Media, ...] = (Media(url="https://img.example/a.jpg", caption=author),)
    once = clean(Post(body_html=body, published_at=T0, title=title, authors=(author,), media=media))
    assert clean(once) == once
    fields: dict[str, Any] = {"body_html": once.body_html, "title": once.title, "authors": list(once.authors)}
    assert decide_edit(Current("ev_p", False, Overrides(), once), fields) is None
