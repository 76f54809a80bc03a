"""The editorial layer in the store, on SQLite and PostgreSQL: overrides on ingested events that re-polls
never undo while the source's own edits still apply underneath, editorial posts with revisions, the audit
log, and the refusals. Every write keeps each event's JSON equal to its columns."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import orjson
import pytest

from timeline.errors import EventDeletedError, EventNotFoundError, SourcedContentError, SourceNotFoundError
from timeline.ids import editorial_source_id
from timeline.models import EditedEvent, Event, Media, Overrides, Source, Timeline, Tombstone
from timeline.store import Post, Store

from .drafts import PLAIN, T0, draft, minutes
from .test_docs import _assert_docs_match_columns

TOMBSTONE_FIELDS = {"id", "seq", "deleted", "published_at", "position"}


async def _blog(store: Store, source: Source, **flags: Any) -> list[str]:
    """Three updates; `b` carries `flags`."""
    drafts = [
        draft(source.id, "a", "Polls open", at=minutes(1)),
        draft(source.id, "b", "Exit poll: 52-48", at=minutes(2), **flags),
        draft(source.id, "c", "Turnout high", at=minutes(3)),
    ]
    await store.apply(source.id, drafts, complete=True, now=T0, policy=PLAIN)
    return [d.id for d in drafts]


async def _poll(store: Store, source: Source, body: str = "Exit poll: 52-48", **flags: Any) -> None:
    """The blog again, `b` as given."""
    drafts = [
        draft(source.id, "a", "Polls open", at=minutes(1)),
        draft(source.id, "b", body, at=minutes(2), **flags),
        draft(source.id, "c", "Turnout high", at=minutes(3)),
    ]
    await store.apply(source.id, drafts, complete=True, now=T0, policy=PLAIN)


async def _listed(store: Store, timeline_id: str) -> list[str]:
    return [e.id for e in (await store.page(timeline_id, order="asc", limit=50)).events]


async def test_a_hidden_event_is_a_tombstone_to_the_public_and_whole_to_keyed_reads(
    store: Store, timeline: Timeline, source: Source
) -> None:
    a, b, c = await _blog(store, source)
    before = (await store.get_timeline(timeline.id)).last_seq
    hidden = await store.edit_event(timeline.id, b, {"hidden": True}, editor="alice", now=minutes(10))

    assert (hidden.hidden, hidden.deleted, hidden.body_text, hidden.revision) == (
        True,
        False,
        "Exit poll: 52-48",
        2,
    )
    assert hidden.overrides == Overrides(hidden=True) and not hidden.editorial
    public = orjson.loads(await store.event_doc(timeline.id, b))
    assert set(public) == TOMBSTONE_FIELDS and public["seq"] == hidden.seq == before + 1
    assert await _listed(store, timeline.id) == [a, c]
    (change,) = await store.changes(timeline.id, since=before)
    assert (change.kind, change.event) == ("delete", Tombstone(id=b, seq=hidden.seq, published_at=minutes(2)))
    with pytest.raises(EventNotFoundError):
        await store.revisions(timeline.id, b)
    assert (await store.full_event(timeline.id, b)).hidden
    await _assert_docs_match_columns(store, timeline.id)


async def test_a_hidden_update_edited_upstream_stays_hidden_and_unhiding_shows_the_new_body(
    store: Store, timeline: Timeline, source: Source
) -> None:
    _, b, _ = await _blog(store, source)
    await store.edit_event(timeline.id, b, {"hidden": True}, editor="alice", now=minutes(10))
    await _poll(store, source, "Exit poll: 51-49 (corrected)")

    assert set(orjson.loads(await store.event_doc(timeline.id, b))) == TOMBSTONE_FIELDS
    keyed = await store.edited_event(timeline.id, b)
    assert (keyed.hidden, keyed.body_text, keyed.revision) == (True, "Exit poll: 51-49 (corrected)", 3)
    last = (await store.get_timeline(timeline.id)).last_seq
    assert (await store.changes(timeline.id, since=last - 1))[0].kind == "delete"

    shown = await store.edit_event(timeline.id, b, {"hidden": None}, editor="desk", now=minutes(11))
    assert (shown.hidden, shown.revision) == (False, 4)
    (change,) = await store.changes(timeline.id, since=last)
    assert change.kind == "upsert" and isinstance(change.event, Event)
    assert change.event.body_text == "Exit poll: 51-49 (corrected)"
    history = await store.revisions(timeline.id, b)  # the public history leaves out hidden versions
    assert [(r.revision, r.made_by, r.editor) for r in history] == [(1, "source", None), (4, "editor", None)]
    keyed_history = await store.revisions(timeline.id, b, unpublished=True)
    assert [(r.revision, r.hidden, r.made_by, r.editor) for r in keyed_history] == [
        (1, False, "source", None),
        (2, True, "editor", "alice"),
        (3, True, "source", None),
        (4, False, "editor", "desk"),
    ]
    await _assert_docs_match_columns(store, timeline.id)


async def test_pin_key_event_and_title_overrides_outlast_polls_and_the_sources_own_flags(
    store: Store, timeline: Timeline, source: Source
) -> None:
    a, b, _ = await _blog(store, source, pinned=True, title="Exit poll")
    await store.edit_event(timeline.id, a, {"pinned": True, "key_event": True}, editor="alice", now=T0)
    await store.edit_event(
        timeline.id, b, {"pinned": False, "title": "What we know so far"}, editor="alice", now=T0
    )
    for flags in (
        {"pinned": True, "title": "Exit poll"},
        {"key_event": True, "title": "Exit poll, updated"},
        {},
    ):
        await _poll(store, source, "Exit poll: 52-48", **flags)
        # b's key-event flag is not overridden: it follows the source; the rest is the editors'.
        expected = {a: (True, True, None), b: (False, "key_event" in flags, "What we know so far")}
        for ident, (pinned, key_event, title) in expected.items():
            event = await store.get_event(timeline.id, ident)
            assert isinstance(event, Event), flags
            assert (event.pinned, event.key_event, event.title) == (pinned, key_event, title), flags
        assert [e.id for e in await store.pinned(timeline.id)] == [a]
        key_events = [e.id for e in (await store.page(timeline.id, key_events=True, order="asc")).events]
        assert key_events == ([a, b] if "key_event" in flags else [a])
    await _poll(store, source, "Exit poll: 52-48", pinned=True, key_event=True, title="Exit poll, final")
    cleared = await store.edit_event(timeline.id, b, {"pinned": None, "title": None}, editor="desk", now=T0)
    assert (cleared.pinned, cleared.key_event, cleared.title) == (True, True, "Exit poll, final")
    assert [e.id for e in await store.pinned(timeline.id)] == [b, a]
    await _assert_docs_match_columns(store, timeline.id)


async def test_a_note_shows_with_the_event_in_its_public_json(
    store: Store, timeline: Timeline, source: Source
) -> None:
    a, _, _ = await _blog(store, source)
    noted = await store.edit_event(
        timeline.id, a, {"note": "  Figures from the <b>returning officer</b> \n"}, editor="alice", now=T0
    )
    assert noted.note == "Figures from the <b>returning officer</b>"  # as typed, never read as HTML
    assert orjson.loads(await store.event_doc(timeline.id, a))["note"] == noted.note
    await _poll(store, source)
    assert (await store.page(timeline.id, order="asc")).events[0].note == noted.note
    assert (await store.edit_event(timeline.id, a, {"note": ""}, editor="alice", now=T0)).note is None


async def test_editorial_posts_are_created_edited_and_deleted_with_revisions(
    store: Store, timeline: Timeline, source: Source
) -> None:
    a, b, c = await _blog(store, source)
    post = Post(
        body_html='<p>What we know so far <script>alert(1)</script><a href="https://x.example">x</a></p>',
        published_at=minutes(2) + timedelta(seconds=30),
        title="What we know",
        pinned=True,
        authors=("Newsdesk",),
        media=(Media(url="https://img.example/a.jpg", kind="image"),),
    )
    created = await store.post_event(timeline.id, post, editor="desk", now=minutes(5))
    assert isinstance(created, EditedEvent) and created.editorial and created.revision == 1
    assert created.source_id == editorial_source_id(timeline.id) and created.upstream_id.startswith("post_")
    assert "<script>" not in created.body_html and 'rel="nofollow noopener"' in created.body_html
    assert await _listed(store, timeline.id) == [a, b, created.id, c]
    assert [e.id for e in await store.pinned(timeline.id)] == [created.id]

    edited = await store.edit_event(
        timeline.id,
        created.id,
        {"body_html": "<p>What we know, updated</p>", "pinned": None, "note": "Updated at 21:00"},
        editor="alice",
        now=minutes(6),
    )
    assert (edited.revision, edited.body_text, edited.pinned, edited.note) == (
        2,
        "What we know, updated",
        False,
        "Updated at 21:00",
    )
    assert edited.updated_at == minutes(6) and edited.title == "What we know"
    moved = await store.edit_event(
        timeline.id, created.id, {"published_at": minutes(0), "title": None}, editor="alice", now=minutes(7)
    )
    assert (moved.revision, moved.title) == (3, None)
    assert await _listed(store, timeline.id) == [created.id, a, b, c]

    gone = await store.delete_event(timeline.id, created.id, editor="desk", now=minutes(8))
    assert gone.deleted and await _listed(store, timeline.id) == [a, b, c]
    assert set(orjson.loads(await store.event_doc(timeline.id, created.id))) == TOMBSTONE_FIELDS
    again = await store.delete_event(timeline.id, created.id, editor="desk", now=minutes(9))
    assert again.seq == gone.seq  # deleting it again changes nothing
    history = await store.revisions(timeline.id, created.id, unpublished=True)
    assert [(r.revision, r.editor, r.body_text) for r in history] == [
        (1, "desk", "What we know so far x"),
        (2, "alice", "What we know, updated"),
        (3, "alice", "What we know, updated"),
    ]
    with pytest.raises(EventDeletedError):
        await store.edit_event(timeline.id, created.id, {"note": "x"}, editor="desk", now=minutes(9))
    await _assert_docs_match_columns(store, timeline.id)


async def test_the_audit_lists_every_action_newest_first_with_its_key_name(
    store: Store, timeline: Timeline, source: Source
) -> None:
    _, b, _ = await _blog(store, source)
    post = await store.post_event(
        timeline.id, Post(body_html="<p>Ours</p>", published_at=minutes(4)), editor="desk", now=minutes(5)
    )
    await store.edit_event(timeline.id, b, {"pinned": True, "note": "Check"}, editor="alice", now=minutes(6))
    await store.edit_event(timeline.id, b, {"pinned": True}, editor="alice", now=minutes(6))  # no change
    await store.delete_event(timeline.id, b, editor="alice", now=minutes(7))
    await store.delete_event(timeline.id, post.id, editor="desk", now=minutes(8))

    page = await store.audit(timeline.id, limit=3)
    rows = [(e.editor, e.event_id, e.action, e.at) for e in page.entries]
    assert rows == [
        ("desk", post.id, "delete", minutes(8)),
        ("alice", b, "delete", minutes(7)),
        ("alice", b, "edit", minutes(6)),
    ]
    assert page.entries[0].changes["deleted"].model_dump() == {"before": False, "after": True}
    assert page.entries[1].changes["hidden"].model_dump() == {"before": False, "after": True}
    assert {name: (c.before, c.after) for name, c in page.entries[2].changes.items()} == {
        "pinned": (None, True),
        "note": (None, "Check"),
    }
    assert page.next == page.entries[-1].seq
    rest = await store.audit(timeline.id, before=page.next)
    ((first,),) = [rest.entries]
    assert (first.action, first.editor, first.changes["body_html"].after, rest.next) == (
        "post",
        "desk",
        "<p>Ours</p>",
        None,
    )
    seqs = [e.seq for e in page.entries + rest.entries]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 4


async def test_refusals(store: Store, timeline: Timeline, source: Source) -> None:
    a, b, _ = await _blog(store, source)
    with pytest.raises(SourcedContentError) as refused:
        await store.edit_event(timeline.id, a, {"body_html": "<p>x</p>", "pinned": True}, editor="a", now=T0)
    assert "Hide it" in refused.value.message and "post" in refused.value.message
    await store.apply(source.id, [draft(source.id, "a", deleted=True)], complete=False, now=T0)
    with pytest.raises(EventDeletedError):
        await store.edit_event(timeline.id, a, {"pinned": True}, editor="a", now=T0)
    with pytest.raises(EventDeletedError):
        await store.delete_event(timeline.id, a, editor="a", now=T0)
    with pytest.raises(EventNotFoundError):
        await store.edit_event(timeline.id, "ev_none", {"pinned": True}, editor="a", now=T0)
    other = await store.create_timeline("Other")
    with pytest.raises(EventNotFoundError):
        await store.edit_event(other.id, b, {"pinned": True}, editor="a", now=T0)
    assert await store.audit(timeline.id) == await store.audit(timeline.id, before=10**9)
    assert (await store.audit(timeline.id)).entries == []


async def test_a_change_that_changes_nothing_takes_no_seq(
    store: Store, timeline: Timeline, source: Source
) -> None:
    a, _, _ = await _blog(store, source)
    last = (await store.get_timeline(timeline.id)).last_seq
    same = await store.edit_event(timeline.id, a, {"hidden": False, "title": None}, editor="a", now=T0)
    assert same.seq == last - 2 and (await store.get_timeline(timeline.id)).last_seq == last
    assert (await store.audit(timeline.id)).entries == []


async def test_the_editorial_source_is_never_polled_listed_or_detached(
    store: Store, timeline: Timeline, source: Source
) -> None:
    await _blog(store, source)
    post = await store.post_event(
        timeline.id, Post(body_html="<p>Ours</p>", published_at=minutes(4)), editor="desk", now=T0
    )
    await store.update_timeline(timeline.id, status="ended")
    await store.update_timeline(timeline.id, status="live", now=T0)
    claimed = await store.claim_due("poller", now=T0 + timedelta(days=1), lease_seconds=60, limit=100)
    assert [c.source.id for c in claimed] == [source.id]
    assert [s.id for s in await store.list_sources()] == [source.id]
    assert [s.id for s in (await store.get_timeline(timeline.id)).sources] == [source.id]
    with pytest.raises(SourceNotFoundError):
        await store.remove_source(post.source_id)
    await store.remove_source(source.id)
    assert await _listed(store, timeline.id) == [post.id]


async def test_a_hidden_event_outlives_its_deletion_and_revival(
    store: Store, timeline: Timeline, source: Source
) -> None:
    _, b, _ = await _blog(store, source)
    await store.edit_event(timeline.id, b, {"hidden": True, "note": "Wrong figures"}, editor="a", now=T0)
    await store.apply(source.id, [draft(source.id, "b", deleted=True)], complete=False, now=T0)
    assert (await store.edited_event(timeline.id, b)).deleted
    await _poll(store, source, "Exit poll: 50-50")
    revived = await store.edited_event(timeline.id, b)
    assert (revived.deleted, revived.hidden, revived.note, revived.body_text) == (
        False,
        True,
        "Wrong figures",
        "Exit poll: 50-50",
    )
    assert set(orjson.loads(await store.event_doc(timeline.id, b))) == TOMBSTONE_FIELDS
    await _assert_docs_match_columns(store, timeline.id)


async def test_polls_and_editors_at_the_same_time_leave_every_event_rendered_from_both(
    store: Store, timeline: Timeline, source: Source
) -> None:
    """Concurrent applies, overrides and a status change (real concurrency on PostgreSQL): none waits
    forever, none is lost, and each event ends as its last content with its overrides on top."""
    ids = await _blog(store, source)
    patches = [
        {"pinned": True},
        {"title": "Ours"},
        {"note": "Checked"},
        {"key_event": False},
        {"pinned": None},
    ]
    for round_ in range(4):
        body = f"Exit poll, take {round_}"
        work = [_poll(store, source, body, title=f"Source {round_}", pinned=round_ % 2 == 0)]
        work += [
            store.edit_event(timeline.id, ident, patch, editor="x", now=T0)
            for ident, patch in zip(ids * 2, patches, strict=False)
        ]
        work.append(store.update_timeline(timeline.id, status="live", now=T0))
        await asyncio.wait_for(asyncio.gather(*work), timeout=30)
    for ident in ids:
        event = await store.edited_event(timeline.id, ident)
        assert event.body_text in ("Polls open", "Exit poll, take 3", "Turnout high")
        source_says = await store.full_event(timeline.id, ident)  # as stored: overrides applied
        title = event.overrides.title or ("Source 3" if ident == ids[1] else None)
        pinned = event.overrides.pinned if event.overrides.pinned is not None else False
        assert (source_says.title, source_says.pinned) == (title, pinned), ident
    await _assert_docs_match_columns(store, timeline.id)
