"""The bundled live blog as a Guardian Content API item that grows one step at a time.

The Content API format carries everything the demo shows (key events, a pinned post, edits) and lists
every block, so a block that disappears is stored as a deletion.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import orjson
from pydantic import BaseModel, model_validator


class Action(BaseModel):
    """One of: `post` a new block, `edit` a block's html, `delete` a block."""

    post: str | None = None
    edit: str | None = None
    delete: str | None = None
    title: str | None = None
    html: str = ""
    key_event: bool = False
    pinned: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> Action:
        if sum(x is not None for x in (self.post, self.edit, self.delete)) != 1:
            raise ValueError("an action is exactly one of post, edit or delete")
        return self


class Script(BaseModel):
    title: str
    url: str
    steps: list[list[Action]]


def load_script(name: str = "marathon.json") -> Script:
    return Script.model_validate_json(files("timeline.web.demo").joinpath(name).read_bytes())


@dataclass(frozen=True, slots=True)
class _Block:
    id: str
    title: str | None
    html: str
    key_event: bool
    pinned: bool
    published: datetime
    modified: datetime


class Replay:
    """The blog at its current step. A step is taken only `interval` seconds after the previous one *and*
    once the previous one has been served, so a slow poller still sees every edit and deletion."""

    def __init__(
        self,
        script: Script,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._script, self._interval, self._clock, self._now = script, interval, clock, now
        self._lock = threading.Lock()
        self._blocks: dict[str, _Block] = {}
        self.step = -1
        self._take_step()

    @property
    def finished(self) -> bool:
        return self.step == len(self._script.steps) - 1

    def serve(self) -> tuple[int, bytes]:
        """The step being served and the Content API response for it (a step on, when it is time)."""
        with self._lock:
            if not self.finished and self._clock() - self._stepped_at >= self._interval:
                self._take_step()
            return self.step, self._body

    def _take_step(self) -> None:
        self.step += 1
        at = self._now()
        for action in self._script.steps[self.step]:
            self._act(action, at)
        self._stepped_at = self._clock()
        self._body = self._render()

    def _act(self, action: Action, at: datetime) -> None:
        if action.post is not None:
            block = _Block(action.post, action.title, action.html, action.key_event, action.pinned, at, at)
            self._blocks[action.post] = block
        elif action.edit is not None:
            self._blocks[action.edit] = replace(self._blocks[action.edit], html=action.html, modified=at)
        elif action.delete is not None:
            del self._blocks[action.delete]

    def _render(self) -> bytes:
        newest_first = sorted(self._blocks.values(), key=lambda b: b.published, reverse=True)
        content = {
            "id": "sport/live/northhaven-marathon",
            "type": "liveblog",
            "webTitle": self._script.title,
            "webUrl": self._script.url,
            "fields": {"liveBloggingNow": True},
            "blocks": {"body": [_block(b) for b in newest_first], "totalBodyBlocks": len(newest_first)},
        }
        return orjson.dumps({"response": {"status": "ok", "content": content}})


def _block(block: _Block) -> dict[str, Any]:
    return {
        "id": block.id,
        "title": block.title or "",
        "bodyHtml": block.html,
        "attributes": {"keyEvent": block.key_event, "pinned": block.pinned},
        "firstPublishedDate": _stamp(block.published),
        "lastModifiedDate": _stamp(block.modified),
    }


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
