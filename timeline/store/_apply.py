"""`apply`: one source's drafts into the database, in one idempotent transaction, with bulk statements."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    bindparam,
    select,
    type_coerce,
    update,
)

from timeline.errors import SourceNotFoundError
from timeline.models import EventDraft
from timeline.store import _driver, _rows
from timeline.store._base import StoreBase, wrap_errors
from timeline.store._plan import (
    Decision,
    Hold,
    Recent,
    Stored,
    damp,
    fingerprint,
    flap_candidates,
    guard,
    listed_ids,
    plan,
    unchanged_ids,
)
from timeline.store._rows import held_deletions
from timeline.store._writes import BY_ID, CHUNK, write
from timeline.store.tables import event_revisions, events, sources, timelines
from timeline.store.types import ApplyPolicy, ApplyResult

DEFAULT_POLICY = ApplyPolicy()


class ApplyMixin(StoreBase):
    @wrap_errors
    async def raw_hashes(self, source_id: str) -> frozenset[str]:
        """The raw hashes of the source's live events: the updates a poll need not normalize again when
        the source lists them unchanged (`seen` of `apply`)."""
        values = {"s_id": source_id}
        rows = await self._read(lambda conn: _driver.fetch(conn, _RAW_HASHES, values), snapshot=False)
        return frozenset(raw for (raw,) in rows)

    @wrap_errors
    async def apply(
        self,
        source_id: str,
        drafts: Sequence[EventDraft],
        *,
        seen: Collection[str] = (),
        complete: bool,
        now: datetime,
        policy: ApplyPolicy = DEFAULT_POLICY,
    ) -> ApplyResult:
        """Make the stored events of `source_id` agree with `drafts` and `seen`, in one transaction.

        A new draft is inserted as revision 1; changed content (`content_hash`) or a reappearing deleted
        event takes revision + 1; a draft with `deleted=True` tombstones its live event; with `complete`,
        so does every live event the snapshot leaves out. `seen` are raw hashes of live events (from
        `raw_hashes`) the snapshot lists unchanged: listed, written never. Each change takes the next
        global seq. Applying the same snapshot again writes nothing and takes no seq. `now` stamps the
        stored revisions and is the clock of `policy`: edits back to a recent version are ignored as stale
        copies (`damped`), and a complete snapshot that would delete most of the source is held back until
        confirmed (`held`, also kept on the source for its health). When a raw hash of `seen` is no longer
        a live event's (another write came between), nothing is written and the result is `outdated`: parse
        again with the hashes as they are now. Raises `SourceNotFoundError`.
        """
        _check_sources(source_id, drafts)
        digest = fingerprint(drafts, seen, complete=complete)

        def work(conn: Connection) -> ApplyResult:
            source = lock_source(conn, source_id)
            held = held_deletions(source.hold)
            if digest == source.digest:
                return ApplyResult(source.timeline_id, last_seq=source.last_seq, held=held)
            stored = _stored(conn, source_id)
            unchanged = unchanged_ids(stored, seen)
            if unchanged is None:
                return ApplyResult(source.timeline_id, last_seq=source.last_seq, held=held, outdated=True)
            decision, damped = _decide(conn, stored, source.hold, drafts, unchanged, complete, now, policy)
            todo = decision.plan
            last_seq = write(conn, source.timeline_id, todo, now) if todo else source.last_seq
            _rehash(conn, todo.rehashed)
            _keep(conn, source_id, source, _digest_after(source, digest, decision, damped), decision.hold)
            return ApplyResult(
                source.timeline_id,
                len(todo.inserts),
                len(todo.rewrites),
                len(todo.deletions),
                last_seq=last_seq,
                held=held_deletions(decision.hold),
                damped=damped,
            )

        return await self._write(work)


_RAW_HASHES = select(events.c.raw_hash).where(
    events.c.source_id == bindparam("s_id"), events.c.deleted.is_(False), events.c.raw_hash.is_not(None)
)


def _check_sources(source_id: str, drafts: Sequence[EventDraft]) -> None:
    strangers = {draft.source_id for draft in drafts} - {source_id}
    if strangers:
        raise ValueError(f"apply({source_id!r}) got drafts of other sources: {sorted(strangers)}")


class Locked(NamedTuple):
    """A source row, locked for this transaction, with what `apply` needs of it."""

    timeline_id: str
    last_seq: int
    digest: str | None
    hold: Hold | None


_LOCKED = (
    sources.c.timeline_id,
    sources.c.snapshot_digest,
    *(sources.c[name] for name in _rows.HOLD_COLUMNS),
)


def lock_source(conn: Connection, source_id: str) -> Locked:
    """The source's timeline, that timeline's last seq, the fingerprint of the drafts last applied with
    changes, and the deletions it holds back. On PostgreSQL the source row stays locked until commit, so
    two applies of one source run one after the other instead of planning from the same state."""
    locking = select(*_LOCKED).where(sources.c.id == source_id)
    row = (conn.execute(locking.with_for_update())).one_or_none()
    if row is None:
        raise SourceNotFoundError(source_id)
    # A statement of its own: after waiting for the lock it sees what the other apply committed
    # (READ COMMITTED), which a join in the locking statement would not.
    last_seq = select(timelines.c.last_seq).where(timelines.c.id == row.timeline_id)
    last = (conn.execute(last_seq)).scalar_one()
    return Locked(row.timeline_id, last, row.snapshot_digest, _rows.hold(row._mapping))


def _decide(
    conn: Connection,
    stored: dict[str, Stored],
    held: Hold | None,
    drafts: Sequence[EventDraft],
    unchanged: frozenset[str],
    complete: bool,
    now: datetime,
    policy: ApplyPolicy,
) -> tuple[Decision, int]:
    """The plan, less stale copies, with a mass deletion held back unless confirmed; and how many edits
    were damped. Recent revisions are read for edited events only: other applies cost nothing more."""
    todo = plan(stored, drafts, complete=complete, unchanged=unchanged)
    candidates = flap_candidates(todo) if policy.flap_window > 0 else []
    todo, damped = damp(todo, _recent(conn, candidates, policy.flap_revisions), now=now, policy=policy)
    listed = listed_ids(drafts, unchanged)
    return guard(todo, stored, listed, held, complete=complete, now=now, policy=policy), damped


_STORED = select(
    events.c.id,
    events.c.content_hash,
    events.c.deleted,
    events.c.revision,
    type_coerce(events.c.published_at, BigInteger),  # raw microseconds: a datetime per row costs more
    events.c.raw_hash,
).where(events.c.source_id == bindparam("s_id"))


def _stored(conn: Connection, source_id: str) -> dict[str, Stored]:
    """What is stored of the source, in one query whose rows come straight from the driver: every poll
    that reads a document reads them all, so a re-poll of a long blog is mostly this."""
    rows = _driver.fetch(conn, _STORED, {"s_id": source_id})
    return {
        ident: Stored(digest, bool(deleted), revision, at, raw)
        for ident, digest, deleted, revision, at, raw in rows
    }


def _rehash(conn: Connection, drafts: list[EventDraft]) -> None:
    """Keep the new raw hashes of events whose content did not change: no seq, no revision."""
    if drafts:
        conn.execute(update(events).where(BY_ID), [{"b_id": d.id, "raw_hash": d.raw_hash} for d in drafts])


def _recent(conn: Connection, event_ids: list[str], count: int) -> dict[str, Recent]:
    """The content hashes of the last `count` revisions of each event, and when its latest was recorded."""
    hashes: dict[str, set[str]] = {}
    latest: dict[str, tuple[int, datetime]] = {}
    for start in range(0, len(event_ids), CHUNK):
        chunk = event_ids[start : start + CHUNK]
        for ident, revision, digest, at in conn.execute(_recent_query(count, chunk)):
            hashes.setdefault(ident, set()).add(digest)
            latest[ident] = max(latest.get(ident, (revision, at)), (revision, at))
    return {ident: Recent(frozenset(found), latest[ident][1]) for ident, found in hashes.items()}


def _recent_query(count: int, event_ids: list[str]) -> Select[Any]:
    """Versions the source made: an editor's change is no edit of the source's to damp against."""
    revision = event_revisions.c
    return (
        select(revision.event_id, revision.revision, revision.content_hash, revision.recorded_at)
        .join(events, events.c.id == revision.event_id)
        .where(
            events.c.id.in_(event_ids),
            revision.revision > events.c.revision - count,
            revision.editor.is_(None),
        )
    )


def _digest_after(source: Locked, digest: str, decision: Decision, damped: int) -> str | None:
    """The fingerprint to remember: none while anything is held or was damped (applying the same drafts
    again must be planned, to count the hold's sightings and let a revert through after the window)."""
    if decision.hold is not None or damped:
        return None
    changed = decision.plan or decision.plan.rehashed or source.hold is not None
    return digest if changed else source.digest


def _keep(conn: Connection, source_id: str, source: Locked, digest: str | None, held: Hold | None) -> None:
    """Update the source row's fingerprint and hold where they changed."""
    values: dict[str, Any] = {} if digest == source.digest else {"snapshot_digest": digest}
    if held != source.hold:
        values.update(_rows.hold_values(held))
    if values:
        conn.execute(update(sources).where(sources.c.id == source_id).values(values))
