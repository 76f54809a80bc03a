"""Persistence: the only package that imports SQLAlchemy and issues SQL.

`Store` holds timelines, sources and events in SQLite (embedded) or PostgreSQL; `migrate(url)` creates or
upgrades the schema (what `timeline migrate` runs).

How a method runs SQL, the rule for every new one: its work is one synchronous function of a SQLAlchemy
`Connection`, handed whole to `StoreBase._read` (a read, in one snapshot unless it says it needs none) or
`StoreBase._write` (one write transaction: committed when the function returns, rolled back if it raises,
then reported to the commit listener). SQLite runs the function in one hop to a thread that keeps its
connection open (reads on a few threads beside the one writer); PostgreSQL in one hop on the event loop
(`run_sync`). No method awaits statement by statement: each await of an async connection was a hop of its
own, and an aiosqlite connection a thread of its own. Inside the function, statements go through
SQLAlchemy Core (`conn.execute`), except on paths measured to be dominated by SQLAlchemy's per-statement
work rather than the database's: the reads the API serves per request (pages, pinned events, one event,
changes) run a statement compiled once straight on the driver and take its raw rows (`_driver.fetch`),
and bulk inserts bind their rows the same way (`_driver.execute_many`). A new method joins those only
with a measurement (bench.read_path, bench.api) that shows the saving.
"""

from timeline.store._editorial import Post
from timeline.store._leases import Claim
from timeline.store._migrate import migrate
from timeline.store._store import Store
from timeline.store._webhooks import Attempt, DeliveryState, Subscription, WebhookSpec
from timeline.store.types import (
    ApplyPolicy,
    ApplyResult,
    AuditEntry,
    AuditPage,
    ChangeDoc,
    Committed,
    OnCommit,
    Order,
    Page,
    PageOptions,
    PollState,
    Revision,
)

__all__ = [
    "ApplyPolicy",
    "ApplyResult",
    "Attempt",
    "AuditEntry",
    "AuditPage",
    "ChangeDoc",
    "Claim",
    "Committed",
    "DeliveryState",
    "OnCommit",
    "Order",
    "Page",
    "PageOptions",
    "PollState",
    "Post",
    "Revision",
    "Store",
    "Subscription",
    "WebhookSpec",
    "migrate",
]
