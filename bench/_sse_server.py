"""The API process of bench/sse.py: `timeline api` as the CLI builds it, plus an in-process writer.

    python -m bench._sse_server --port P --source SOURCE_ID --commits FILE

The writer stands for the pollers of `timeline serve`: it stores each change with `store.apply`, and the
store publishes it on the same memory hub, as it does every write, so readers learn of it at once. (A writer
in another process could not notify a memory hub: readers would wait up to a second for the fan-out's
`last_seq` re-check, which measures that timer, not the push.) It reads `write COUNT RATE` lines from
stdin, applies COUNT new ~1 KB events at RATE per second, appends `seq commit_time` per change to FILE
(time.time() right after the commit) and prints `written`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from litestar import Litestar

from bench._sse_load import raise_nofile
from timeline.api import create_app
from timeline.api.deps import Services
from timeline.api.stream import tune_gc
from timeline.hub.memory import MemoryHub
from timeline.ids import event_id
from timeline.metrics import Metrics
from timeline.models import EventDraft
from timeline.settings import get_settings
from timeline.wiring import polling

BODY = (
    "<p>Polls have closed in the eastern states and the first <strong>results</strong> are coming in. "
    "Our correspondents report long queues in <a href='https://news.example/live/q'>several districts</a>, "
    "and officials say counting will continue through the night.</p>"
)


def draft(source_id: str, n: int) -> EventDraft:
    """New event `n`: ~1 KB of HTML and its text, as a live-blog update."""
    upstream = f"sse-{n:07d}"
    now = datetime.now(UTC)
    return EventDraft(
        id=event_id(source_id, upstream),
        source_id=source_id,
        upstream_id=upstream,
        url=f"https://news.example/live/election#{upstream}",
        published_at=now,
        title=f"Update {n}",
        body_html=BODY * 3 + f"<p>Update number {n}.</p>",
        body_text=f"Update number {n}. " * 20,
        content_hash=hashlib.blake2b(f"{source_id} {n}".encode(), digest_size=16).hexdigest(),
    )


async def write(
    services: Services, source_id: str, commits: Path, first: int, count: int, rate: float
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with commits.open("a") as out:
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
            now = datetime.now(UTC)
            result = await services.store.apply(
                source_id, [draft(source_id, first + i)], complete=False, now=now
            )
            committed = time.time()  # the store has told the hub too: this is a hair after the commit
            out.write(f"{result.last_seq} {committed!r}\n")
    print("written", flush=True)


async def commands(app: Litestar, source_id: str, commits: Path) -> None:
    """`write COUNT RATE` lines from stdin, one after another, until it closes."""
    loop, written = asyncio.get_running_loop(), 0
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        _verb, count, rate = line.split()
        await write(app.state.services, source_id, commits, written, int(count), float(rate))
        written += int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--commits", type=Path, required=True)
    args = parser.parse_args()
    raise_nofile()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("timeline").setLevel(logging.INFO)
    settings, metrics, hub = get_settings(), Metrics(), MemoryHub()
    tune_gc()  # as `timeline api` does
    app = create_app(settings, polling=polling(settings, metrics=metrics), hub=hub, metrics=metrics)
    tasks: set[asyncio.Task[None]] = set()

    def start_writer(app: Litestar) -> None:
        tasks.add(asyncio.get_running_loop().create_task(commands(app, args.source, args.commits)))

    app.on_startup.append(start_writer)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, server_header=False,
        timeout_graceful_shutdown=5,
    )  # fmt: skip
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
