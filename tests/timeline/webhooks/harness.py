"""The receiver process (`receiver.py`) driven from a test: set up paths, read what arrived, wait for it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.timeline.live.writer import Writer
from timeline.store import WebhookSpec

REPO = Path(__file__).resolve().parents[3]
# Quick retries and timeouts, so that tests of failures take seconds.
QUICK = {"TIMELINE_WEBHOOK_RETRY_BASE": "0.05", "TIMELINE_WEBHOOK_TIMEOUT": "1"}
WAIT = 60.0  # seconds: generous, a loaded machine must not fail a test by slowness
Received = list[dict[str, Any]]


@dataclass
class ReceiverProcess:
    url: str
    http: httpx.AsyncClient

    def hook(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    async def setup(self, name: str, secrets: list[str], script: list[Any] | None = None) -> None:
        answer = await self.http.put(f"/control/{name}", json={"secrets": secrets, "script": script or [200]})
        answer.raise_for_status()

    async def received(self, name: str) -> Received:
        found: Received = (await self.http.get(f"/received/{name}")).json()
        return found

    async def until(self, name: str, done: Callable[[Received], bool], timeout: float = WAIT) -> Received:
        """What arrived at `name`, once `done` says it is enough."""
        try:
            async with asyncio.timeout(timeout):
                while not done(found := await self.received(name)):
                    await asyncio.sleep(0.1)
        except TimeoutError:
            found = await self.received(name)
            said = [(r.get("seq"), r.get("status"), r["verified"]) for r in found]
            raise AssertionError(f"{name} received {len(found)}: (seq, status, verified) {said}") from None
        return found


@asynccontextmanager
async def receiver(workdir: Path) -> AsyncIterator[ReceiverProcess]:
    """A receiver process on 127.0.0.1 until the block ends."""
    port_file = workdir / "receiver.port"
    port_file.unlink(missing_ok=True)
    with (workdir / "receiver.log").open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.timeline.webhooks.receiver", str(port_file),
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    try:
        async with asyncio.timeout(WAIT):
            while not port_file.exists() or not port_file.read_text():
                assert process.returncode is None, (workdir / "receiver.log").read_text()
                await asyncio.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        async with httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
            yield ReceiverProcess(url, http)
    finally:
        process.kill()
        await process.wait()


def verified(received: Received) -> Received:
    """The verified deliveries of changes, each webhook-id once (the first), in arrival order."""
    seen: set[str] = set()
    kept = []
    for record in received:
        if record["verified"] and record.get("seq") is not None and record["id"] not in seen:
            seen.add(record["id"])
            kept.append(record)
    return kept


def answered(received: Received) -> Received:
    """The deliveries of changes the receiver answered 2xx."""
    return [r for r in received if r.get("status") and 200 <= r["status"] < 300 and r.get("seq") is not None]


async def subscribe(
    writer: Writer,
    rx: ReceiverProcess,
    name: str,
    spec: WebhookSpec | None = None,
    script: list[Any] | None = None,
) -> str:
    """A subscription of the writer's timeline delivering to receiver path `name`, answered by `script`."""
    hook, secret = await writer.store.create_webhook(writer.timeline_id, spec or WebhookSpec(rx.hook(name)))
    await rx.setup(name, [secret], script)
    return hook.id


async def unpolled(writer: Writer) -> int:
    """End the writer's timeline, so that the worker does not poll its source (it has no upstream); the
    seq to read the writer's changes from."""
    return (await writer.store.update_timeline(writer.timeline_id, status="ended")).last_seq


async def final_changes(writer: Writer, since: int) -> dict[int, dict[str, Any]]:
    """Each changed event's latest state, by its seq, as `GET …/changes` serves it."""
    return {c.seq: orjson.loads(c.doc) for c in await writer.store.change_docs(writer.timeline_id, since)}


def has_all(final: dict[int, dict[str, Any]]) -> Any:
    return lambda received: set(final) <= set(seqs(verified(received)))


def seqs(received: Received) -> list[int]:
    return [r["seq"] for r in received]
