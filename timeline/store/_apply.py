"""`apply`: one source's drafts into the database, in one idempotent transaction, with bulk statements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    select,
    type_coerce,
    update,
)

from timeline.errors import SourceNotFoundError
from timeline.models import EventDraft
from timeline.store import _rows
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
    plan,
)
from timeline.store._rows import held_deletions
from timeline.store._writes import CHUNK, write
from timeline.store.tables import event_revisions, events, sources, timelines
from timeline.store.types import ApplyPolicy, ApplyResult

DEFAULT_POLICY = ApplyPolicy()


class ApplyMixin(StoreBase):
    @wrap_errors
    async def apply(
        self,
        source_id: str,
        drafts: Sequence[EventDraft],
        *,
        complete: bool,
        now: datetime,
        policy: ApplyPolicy = DEFAULT_POLICY,
    ) -> ApplyResult:
        """Make the stored events of `source_id` agree with `drafts`, in one transaction.

        A new draft is inserted as revision 1; changed content (`content_hash`) or a reappearing deleted
        event takes revision + 1; a draft with `deleted=True` tombstones its live event; with `complete`,
        so does every live event the drafts leave out. Each change takes the next global seq. Applying the
        same drafts again writes nothing and takes no seq. `now` stamps the stored revisions and is the
        clock of `policy`: edits back to a recent version are ignored as stale copies (`damped`), and a
        complete snapshot that would delete most of the source is held back until confirmed (`held`, also
        kept on the source for its health). Raises `SourceNotFoundError`.
        """
        _check_sources(source_id, drafts)
        digest = fingerprint(drafts, complete=complete)

        def work(conn: Connection) -> ApplyResult:
            source = lock_source(conn, source_id)
            if digest == source.digest:
                return ApplyResult(
                    source.timeline_id, last_seq=source.last_seq, held=held_deletions(source.hold)
                )
            decision, damped = _decide(conn, source_id, source.hold, drafts, complete, now, policy)
            todo = decision.plan
            last_seq = write(conn, source.timeline_id, todo, now) if todo else source.last_seq
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
    source_id: str,
    held: Hold | None,
    drafts: Sequence[EventDraft],
    complete: bool,
    now: datetime,
    policy: ApplyPolicy,
) -> tuple[Decision, int]:
    """The plan, less stale copies, with a mass deletion held back unless confirmed; and how many edits
    were damped. Recent revisions are read for edited events only: other applies cost nothing more."""
    stored = _stored(conn, source_id)
    todo = plan(stored, drafts, complete=complete)
    candidates = flap_candidates(todo) if policy.flap_window > 0 else []
    todo, damped = damp(todo, _recent(conn, candidates, policy.flap_revisions), now=now, policy=policy)
    return guard(todo, stored, drafts, held, complete=complete, now=now, policy=policy), damped


def _stored(conn: Connection, source_id: str) -> dict[str, Stored]:
    """What is stored of the source: one query, times as raw microseconds (a datetime per row would cost
    more than the comparison)."""
    micros = type_coerce(events.c.published_at, BigInteger)
    columns = (events.c.id, events.c.content_hash, events.c.deleted, events.c.revision, micros)
    rows = (conn.execute(select(*columns).where(events.c.source_id == source_id))).all()
    return {ident: Stored(digest, deleted, revision, at) for ident, digest, deleted, revision, at in rows}


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
    return digest if decision.plan or source.hold is not None else source.digest


def _keep(conn: Connection, source_id: str, source: Locked, digest: str | None, held: Hold | None) -> None:
    """Update the source row's fingerprint and hold where they changed."""
    values: dict[str, Any] = {} if digest == source.digest else {"snapshot_digest": digest}
    if held != source.hold:
        values.update(_rows.hold_values(held))
    if values:
        conn.execute(update(sources).where(sources.c.id == source_id).values(values))
