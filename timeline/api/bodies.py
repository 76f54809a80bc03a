"""Request bodies as the API reads them: at most `MAX_BODY_BYTES`, nested at most `MAX_DEPTH` levels.

Every body this API takes is a flat JSON object of a few short fields. The JSON decoder recurses once per
level of nesting, so a body of a few kilobytes of `[[[[…` would exhaust the interpreter's stack (a
`RecursionError`, answered 500) before any validation could refuse it: the depth is measured first, by a
scan that skips strings and stops at the limit.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "BodyTooDeepError", "JSONRequest", "nesting_exceeds"]

MAX_BODY_BYTES = 64 * 1024  # a title, a slug, a URL of a few kilobytes: far below this
MAX_DEPTH = 32  # our bodies nest 1 level; JSON Schema validators and clients never need more than a few
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.S)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_OPENING = frozenset(b"[{")


class BodyTooDeepError(ClientException):
    """400: a JSON body nested past `MAX_DEPTH`."""


class JSONRequest(Request[Any, Any, Any]):
    """Litestar's request, whose JSON body is refused unread past `MAX_DEPTH` levels."""

    async def json(self) -> Any:
        if nesting_exceeds(await self.body(), MAX_DEPTH):
            raise BodyTooDeepError(
                f"The request body nests JSON more than {MAX_DEPTH} levels deep; send a flat JSON object."
            )
        return await super().json()


def nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether the JSON in `body` nests arrays and objects deeper than `limit`; brackets inside strings do
    not count (a title may hold `[[[`)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        depth = depth + 1 if bracket in _OPENING else max(depth - 1, 0)
        if depth > limit:
            return True
    return False
