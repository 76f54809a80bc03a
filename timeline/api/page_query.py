"""The query of a page of events, declared once: each parameter's name, type, range, default and
description, and the rule that a page is read after a cursor or before one, never both.

The Litestar handler takes its parameters from here (so its validation and the OpenAPI description are
these), and the cache front reads a plain request's query by hand (`plain`) with the same names, ranges
and rule: a query it reads is one the handler reads the same way, and anything else it leaves to the
handler, which validates it (and refuses it, when it must).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast, get_args

from litestar.params import QueryParameter

from timeline.store import Order, PageOptions

MAX_LIMIT = 200  # events per page
DEFAULT_LIMIT = 20
DEFAULT_ORDER: Order = "desc"
ORDERS = frozenset(get_args(Order))

OrderQuery = Annotated[Order, QueryParameter(description="`desc`: newest first.")]
LimitQuery = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Events per page.")]
BeforeQuery = Annotated[
    str | None,
    QueryParameter(min_length=1, description="Cursor from `prev`: the page before. Not with `after`."),
]
AfterQuery = Annotated[
    str | None,
    QueryParameter(min_length=1, description="Cursor from `next`: the page after. Not with `before`."),
]
KeyEventsQuery = Annotated[bool, QueryParameter(description="Only key events.")]
SinceQuery = Annotated[
    datetime | None,
    QueryParameter(description="Only events published at/after (RFC 3339; no offset: UTC)."),
]
# Every parameter's name, as the handler names its arguments; `plain` reads all but `since`, whose
# date-times it leaves to the handler.
NAMES = frozenset(("order", "limit", "before", "after", "key_events", "since"))
_PLAIN = NAMES - {"since"}
BOTH_CURSORS = "Give `before` or `after`, not both."


def both_cursors(before: str | None, after: str | None) -> bool:
    """Whether a query breaks the cursor rule: it names the page before one cursor and after another."""
    return bool(before) and bool(after)


def plain(query_string: bytes) -> PageOptions | None:
    """The query of a plain page request, read without Litestar; None for anything else: escapes, repeats,
    `since`, values Litestar might read differently, out-of-range limits, both cursors."""
    query = query_string.decode("latin-1")
    if not query:
        return {}
    if "%" in query or "+" in query:
        return None
    fields: dict[str, Any] = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name in fields or not value or name not in _PLAIN:
            return None
        fields[name] = value
    if fields.get("order", DEFAULT_ORDER) not in ORDERS:
        return None
    if both_cursors(fields.get("before"), fields.get("after")):
        return None
    if fields.get("key_events", "false") not in ("true", "false"):
        return None
    if "key_events" in fields:
        fields["key_events"] = fields["key_events"] == "true"
    if "limit" in fields:
        limit = fields["limit"]
        if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= MAX_LIMIT):
            return None
        fields["limit"] = int(limit)
    return cast(PageOptions, fields)
