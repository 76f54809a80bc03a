"""Property, on SQLite and PostgreSQL: however polls and editors' overrides interleave, the public timeline
ends as if the overrides (those the store accepted, in their order) had been applied to the last snapshot
alone. Overrides sit on top of the source's content, so neither the order nor the polls between them
can change what readers finally see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timeline.errors import EventDeletedError, EventNotFoundError
from timeline.ids import event_id
from timeline.store import Store

from .drafts import PLAIN, T0, draft

UPSTREAM_IDS = ("a", "b", "c")
URL = "https://news.example/live"

# One update as the source lists it: body, title, pinned, key event.
updates = st.tuples(
    st.sampled_from(("x", "y")), st.sampled_from((None, "T1", "T2")), st.booleans(), st.booleans()
)
# A complete snapshot: the updates it lists (the others are deleted by their absence); mostly all of them,
# so that overrides usually find their event and later polls usually edit it.
snapshots = st.fixed_dictionaries(
    {}, optional={uid: updates for uid in UPSTREAM_IDS}
) | st.fixed_dictionaries({uid: updates for uid in UPSTREAM_IDS})
patches = st.dictionaries(
    st.sampled_from(("hidden", "pinned", "key_event", "title", "note")),
    st.sampled_from((None, True, False)),
    min_size=1,
    max_size=3,
).map(lambda patch: {name: _typed(name, value) for name, value in patch.items()})
Poll = tuple[str, dict[str, tuple[str, str | None, bool, bool]]]
Edit = tuple[str, str, dict[str, Any]]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("poll"), snapshots),
        st.tuples(st.just("edit"), st.sampled_from(UPSTREAM_IDS), patches),
    ),
    min_size=1,
    max_size=10,
)


def _typed(name: str, value: bool | None) -> Any:
    """Titles and notes are text: True/False pick one of two, None clears."""
    if name in ("title", "note") and value is not None:
        return f"{name} {'one' if value else 'two'}"
    return value


async def _poll(store: Store, source_id: str, listed: dict[str, tuple[str, str | None, bool, bool]]) -> None:
    drafts = [
        draft(
            source_id,
            uid,
            body,
            at=T0 + timedelta(minutes=UPSTREAM_IDS.index(uid)),
            title=title,
            pinned=pin,
            key_event=key,
        )
        for uid, (body, title, pin, key) in sorted(listed.items())
    ]
    await store.apply(source_id, drafts, complete=True, now=T0, policy=PLAIN)


async def _edit(store: Store, timeline_id: str, source_id: str, uid: str, patch: dict[str, Any]) -> bool:
    """Whether the store accepted the override (the event is there and not deleted)."""
    try:
        await store.edit_event(timeline_id, event_id(source_id, uid), patch, editor="prop", now=T0)
    except (EventNotFoundError, EventDeletedError):
        return False
    return True


async def _public(store: Store, timeline_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """What readers see, by upstream id (the two timelines' ids differ), without seqs and revisions."""
    page = await store.page_docs(timeline_id, order="asc", limit=50)
    kept = ("upstream_id", "body_text", "title", "pinned", "key_event", "note", "published_at", "hidden")
    listed = [{name: orjson.loads(doc)[name] for name in kept} for doc in page.events]
    pinned = [orjson.loads(doc)["upstream_id"] for doc in await store.pinned_docs(timeline_id)]
    return listed, pinned


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
async def test_any_interleaving_ends_as_the_overrides_on_the_last_snapshot(
    store: Store, history: list[Poll | Edit]
) -> None:
    timeline = await store.create_timeline("Interleaved")
    source = await store.add_source(timeline.id, URL, "guardian")
    last: dict[str, tuple[str, str | None, bool, bool]] = {}
    accepted: list[tuple[str, dict[str, Any]]] = []
    for step in history:
        if step[0] == "poll":
            last = step[1]
            await _poll(store, source.id, last)
        else:
            _, uid, patch = step
            if await _edit(store, timeline.id, source.id, uid, patch):
                accepted.append((uid, patch))

    reference = await store.create_timeline("Reference")
    fresh = await store.add_source(reference.id, URL, "guardian")
    await _poll(store, fresh.id, last)
    for uid, patch in accepted:
        await _edit(store, reference.id, fresh.id, uid, patch)
    assert await _public(store, timeline.id) == await _public(store, reference.id)
