"""Stable identity: a source's id comes from its timeline and canonical URL, so detaching it and attaching
the same URL again revives the same source and the same events (new seqs, same ids). On SQLite and
PostgreSQL, plus the pure URL rules."""

from __future__ import annotations

import pytest

from timeline.errors import ConflictError
from timeline.ids import canonical_url, source_id
from timeline.models import Event, Timeline
from timeline.store import Store

from .drafts import T0, draft, minutes

URL = "https://news.example/live/election"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://News.Example/Live/Election?Page=2#block-1", "https://news.example/Live/Election?Page=2"),
        ("https://news.example:443/live", "https://news.example/live"),
        ("http://news.example:80/live", "http://news.example/live"),
        ("http://news.example:8080/live", "http://news.example:8080/live"),
        ("https://news.example:80/live", "https://news.example:80/live"),
        ("http://[2001:DB8::1]:80/live", "http://[2001:db8::1]/live"),
        ("https://Editor:Secret@News.Example/live", "https://Editor:Secret@news.example/live"),
        ("https://news.example/a%2Fb?q=%C3%A9", "https://news.example/a%2Fb?q=%C3%A9"),
    ],
)
def test_canonical_urls(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_source_ids_follow_the_timeline_and_the_canonical_url() -> None:
    ident = source_id("tl_a", URL)
    assert ident.startswith("src_") and len(ident) == len("src_") + 16
    assert source_id("tl_a", "HTTPS://NEWS.example:443/live/election#latest") == ident
    assert source_id("tl_b", URL) != ident
    assert source_id("tl_a", URL + "?page=2") != ident


async def test_a_url_attached_again_revives_its_source_and_events(store: Store, timeline: Timeline) -> None:
    source = await store.add_source(timeline.id, URL, "guardian")
    drafts = [draft(source.id, uid, f"Update {uid}", at=minutes(n)) for n, uid in enumerate("abc")]
    await store.apply(source.id, drafts, complete=True, now=T0)
    removed = await store.remove_source(source.id)
    assert removed.deleted == 3

    again = await store.add_source(timeline.id, "https://NEWS.example/live/election#top", "guardian")
    assert again.id == source.id
    revived = await store.apply(again.id, drafts, complete=True, now=minutes(10))
    assert (revived.new, revived.updated, revived.deleted) == (0, 3, 0)

    page = await store.page(timeline.id, order="asc")
    assert [e.id for e in page.events] == [d.id for d in drafts]
    changes = await store.changes(timeline.id, since=removed.last_seq)
    assert [(c.kind, c.event.id) for c in changes] == [("upsert", d.id) for d in drafts]
    assert all(isinstance(c.event, Event) and c.event.revision == 2 for c in changes)
    assert len(await store.changes(timeline.id, since=0)) == 3  # each event once, at its latest seq


async def test_the_same_url_twice_conflicts_even_written_differently(
    store: Store, timeline: Timeline
) -> None:
    await store.add_source(timeline.id, URL, "guardian")
    with pytest.raises(ConflictError):
        await store.add_source(timeline.id, "https://News.Example:443/live/election", "guardian")
    assert (await store.ensure_source(timeline.slug, URL + "#x", "guardian")).url == URL


async def test_a_moved_source_keeps_the_id_of_the_url_it_was_attached_by(
    store: Store, timeline: Timeline
) -> None:
    """Ids are never recomputed from URLs: a permanent redirect changes the URL, not the id."""
    source = await store.add_source(timeline.id, URL, "guardian", now=T0)
    (claim,) = await store.claim_due("poller-1", now=T0, lease_seconds=60, limit=1)
    moved = "https://news.example/live/election-results"
    await store.finish_polls("poller-1", {source.id: claim.state}, moved={source.id: moved})
    assert (await store.get_source(source.id)).url == moved
    await store.remove_source(source.id)
    assert (await store.add_source(timeline.id, URL, "guardian")).id == source.id
