"""What the renderers share: visible events in the timeline's order, and headlines for untitled ones."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.timeline.render.samples import T0, event, timeline
from timeline import render
from timeline.models import Tombstone
from timeline.render._common import excerpt, headline, shown


def test_order_is_time_then_source_position_then_id() -> None:
    later = event("ev_a", published_at=T0 + timedelta(seconds=1))
    second, first = event("ev_b", position=2), event("ev_c", position=1)
    tie = event("ev_d", position=2)
    assert [e.id for e in shown([tie, later, first, second], newest_first=False)] == [
        "ev_c",
        "ev_b",
        "ev_d",
        "ev_a",
    ]
    assert [e.id for e in shown([tie, later, first, second], newest_first=True)] == [
        "ev_a",
        "ev_d",
        "ev_b",
        "ev_c",
    ]


def test_tombstones_are_never_shown() -> None:
    assert shown([event("ev_x", deleted=True)], newest_first=True) == []
    assert shown([Tombstone(id="ev_y", seq=2, published_at=T0)], newest_first=True) == []


def test_every_renderer_leaves_out_public_tombstones_and_deleted_events() -> None:
    """Given the public shape of a deletion or a whole deleted event (a keyed read), no feed shows it."""
    gone = Tombstone(id="ev_removed", seq=44, published_at=T0 + timedelta(minutes=30))
    kept = event("ev_kept", title="Kick-off", body_text="The teams are out", body_html="<p>out</p>")
    deleted = event("ev_withdrawn", title="WITHDRAWN", deleted=True)
    documents = [
        render.atom_feed(
            timeline(), [gone, kept, deleted], self_url="https://t.example/f", html_url=None, updated=T0
        ),
        render.json_feed(
            timeline(), [gone, kept, deleted], feed_url="https://t.example/f", home_page_url=None
        ),
        render.timelinejs(timeline(), [gone, kept, deleted]),
    ]
    for document in documents:
        assert b"ev_kept" in document and b"ev_removed" not in document and b"WITHDRAWN" not in document


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"title": "Kick-off", "body_text": "ignored"}, "Kick-off"),
        ({"body_text": "  The\nteams   are out  "}, "The teams are out"),
        ({"summary": "Only a summary"}, "Only a summary"),
        ({}, "2024-05-01T12:00:00Z"),
    ],
)
def test_headline_falls_back_from_title_to_text_to_time(fields: dict[str, str], expected: str) -> None:
    assert headline(event("ev_h", **fields)) == expected


def test_excerpt_cuts_at_a_word_boundary() -> None:
    assert excerpt("one two three four", limit=12) == "one two…"
    assert excerpt("one two three", limit=13) == "one two three"


def test_excerpt_cuts_inside_a_long_word_rather_than_losing_most_of_the_text() -> None:
    assert excerpt("a " + "x" * 30, limit=10) == "a xxxxxxx…"


def test_public_surface() -> None:
    assert sorted(render.__all__) == ["atom_feed", "json_feed", "timelinejs"]
