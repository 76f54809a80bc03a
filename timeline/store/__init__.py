"""Persistence: the only package that imports SQLAlchemy and issues SQL.

`Store` holds timelines, sources and events in SQLite (embedded) or PostgreSQL; `migrate(url)` creates or
upgrades the schema (what `timeline migrate` runs).
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
