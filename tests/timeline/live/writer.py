"""A writer in the test process: applies drafts straight to the store, one change per seq.

The API processes learn of its writes from their once-a-second check of `last_seq`, or from the hub
when one is given (as `timeline worker` would publish).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from tests.timeline.live.sse import Message
from tests.timeline.store.drafts import draft, minutes
from timeline.hub import Hub
from timeline.hub.postgres import PostgresHub
from timeline.models import EventDraft
from timeline.store import Store


@dataclass(frozen=True)
class Written:
    """One change as a client must see it."""

    seq: int
    kind: str  # upsert | delete
    event_id: str
    body_text: str


def seen(messages: list[Message]) -> list[Written]:
    """What a client saw, in the writer's terms."""
    return [Written(m.seq, m.event, m.json()["id"], m.json().get("body_text", "")) for m in messages]


class Writer:
    def __init__(self, store: Store, timeline_id: str, source_id: str, hub: Hub | None) -> None:
        self.store = store
        self.timeline_id = timeline_id
        self.source_id = source_id
        self._hub = hub
        self._minutes: dict[str, int] = {}

    @classmethod
    async def create(cls, store: Store, *, now: datetime, hub: Hub | None = None) -> Writer:
        timeline = await store.create_timeline("Election night", now=now)
        source = await store.add_source(
            timeline.id, "https://news.example/live/election", "guardian", now=now
        )
        # Never fetched: only `timeline api` processes, which run no pollers, serve these databases.
        return cls(store, timeline.id, source.id, hub)

    def _draft(
        self, upstream_id: str, body: str, *, deleted: bool = False, key_event: bool = False
    ) -> EventDraft:
        minute = self._minutes.setdefault(upstream_id, len(self._minutes))
        extra = {"key_event": True} if key_event else {}
        return draft(self.source_id, upstream_id, body, at=minutes(minute), deleted=deleted, **extra)

    async def _apply(self, *drafts: EventDraft) -> int:
        result = await self.store.apply(self.source_id, drafts, complete=False, now=datetime.now(UTC))
        assert result.new + result.updated + result.deleted == len(drafts), result
        if self._hub is not None:
            await self._hub.publish(self.timeline_id, result.last_seq)
        return result.last_seq

    async def post(
        self, upstream_id: str, body: str, *, padding: int = 0, key_event: bool = False
    ) -> Written:
        """A new event (or an edit of an existing one): `upsert`. `padding` characters make its HTML large."""
        new = self._draft(upstream_id, body, key_event=key_event)
        if padding:
            new = new.model_copy(update={"body_html": f"<p>{body}{'.' * padding}</p>"})
        return Written(await self._apply(new), "upsert", new.id, new.body_text)

    async def delete(self, upstream_id: str) -> Written:
        """A tombstone: `delete`, without content (deleted means unpublished)."""
        gone = self._draft(upstream_id, "", deleted=True)
        return Written(await self._apply(gone), "delete", gone.id, "")

    async def post_many(self, upstream_ids: list[str], body: str) -> list[Written]:
        """New events in one transaction: consecutive seqs, in the order given."""
        drafts = [self._draft(upstream_id, f"{body} {upstream_id}") for upstream_id in upstream_ids]
        last = await self._apply(*drafts)
        first = last - len(drafts) + 1
        return [Written(first + i, "upsert", d.id, d.body_text) for i, d in enumerate(drafts)]


@asynccontextmanager
async def writing(url: str) -> AsyncIterator[Writer]:
    """A writer on a new timeline of the (migrated) database at `url`; on PostgreSQL it publishes each
    write through the `postgres` hub, as a `timeline worker` does."""
    hub = PostgresHub(url) if url.startswith("postgresql") else None
    try:
        async with await Store.open(url, migrate=True) as store:
            yield await Writer.create(store, now=datetime.now(UTC), hub=hub)
    finally:
        if hub is not None:
            await hub.close()
