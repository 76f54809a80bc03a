"""Fan-out of live changes to SSE readers: one store read per change batch, however many readers.

Per timeline with readers, one `Channel` task waits for a hub notification (or checks `last_seq` every
second, which also covers writers that cannot notify us), reads the changes after the seq it last
broadcast, renders each as an SSE frame once, and offers the frames to every reader's bounded queue.
A reader whose queue overflows is dropped; it reconnects with `Last-Event-ID` and replays from the store.
A reader whose seq is ahead of the timeline (a restored database, or a timeline re-created under the same
slug) gets `event: reset` with the timeline's `last_seq` and continues live from there; so do the readers
of a channel whose timeline goes back, and the streams of a deleted timeline end (they reconnect by slug).
The channel also asks its readers for a keep-alive when it has been quiet for `PING_EVERY`: one timer per
timeline rather than one per reader: at 10,000 readers, per-reader timers were most of a delivery's cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

import orjson

from timeline.api.caching import SeqCache
from timeline.errors import TimelineNotFoundError
from timeline.store import ChangeDoc, Store

log = logging.getLogger("timeline.api.stream")

RECHECK = 1.0  # seconds between last_seq checks when no notification arrives
PING_EVERY = 15.0  # seconds of quiet before readers are asked for a keep-alive (read at run time)
PAGE = 500


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int  # of the last change in `data`
    data: bytes
    reset: bool = False


def frame(change: ChangeDoc) -> Frame:
    """`id: <seq>`, `event: upsert|delete`, `data:` the event as the REST API shows it."""
    head = b"id: %d\nevent: %s\ndata: " % (change.seq, change.kind.encode())
    return Frame(change.seq, head + change.doc.encode() + b"\n\n")


def reset_frame(last_seq: int) -> Frame:
    """`event: reset`: the reader's seq is not the timeline's any more; `id:` moves its Last-Event-ID to
    `last_seq`, from which the stream goes on. A client reloads what it shows."""
    data = orjson.dumps({"last_seq": last_seq})
    return Frame(last_seq, b"id: %d\nevent: reset\ndata: %s\n\n" % (last_seq, data), reset=True)


class Reader:
    """One SSE client's view of a channel: a bounded queue of frames and a future to wake it with."""

    __slots__ = ("_bound", "ended", "frames", "ping", "restarted", "waiter")

    def __init__(self, bound: int) -> None:
        self.frames: list[Frame] = []
        self.waiter: asyncio.Future[None] | None = None
        self.ended = False  # dropped for being slow, or the server is closing
        self.ping = False
        self.restarted = False  # frames[0] is a reset: the seqs start again below what was sent
        self._bound = bound

    def offer(self, frames: list[Frame]) -> None:
        """Queue `frames`, unless the reader is still more than `bound` frames behind: then drop it.

        Judged on the backlog before this batch, so one large batch (a first poll of a long blog) never
        drops a reader that keeps up.
        """
        if len(self.frames) > self._bound:
            if not self.ended:
                log.info("dropped an SSE reader %d frames behind; it can resume by seq", len(self.frames))
            self.ended = True
        else:
            self.frames += frames
        self.wake()

    def restart(self, reset: Frame) -> None:
        """Frames queued before a reset belong to the timeline as it was: only the reset is left."""
        self.frames[:] = [reset]
        self.restarted = True
        self.wake()

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def take(self, after: int) -> Frame | None:
        """Every queued frame past seq `after` as one frame (one write however far behind), or None.
        The queue is emptied in place: a new list per change and reader would only feed the collector."""
        frames, self.ping = self.frames, False
        if self.restarted:
            self.restarted = False
        elif frames and frames[0].seq <= after:  # only at the boundary with the replay
            frames[:] = [f for f in frames if f.seq > after]
        if not frames:
            return None
        taken = frames[0] if len(frames) == 1 else Frame(frames[-1].seq, b"".join(f.data for f in frames))
        frames.clear()
        return taken


class Channel:
    """The live changes of one timeline, read once and offered to every reader."""

    def __init__(self, store: Store, timeline_id: str, last_seq: int) -> None:
        self.timeline_id = timeline_id
        self.last_seq = last_seq
        self.readers: set[Reader] = set()
        self.wake = asyncio.Event()
        self._store = store
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        active = loop.time()
        while self.readers:
            notified = False
            with contextlib.suppress(TimeoutError):
                notified = await asyncio.wait_for(self.wake.wait(), RECHECK)
            self.wake.clear()
            try:
                if (notified and await self._broadcast()) or await self._check():
                    active = loop.time()
            except Exception:  # the store hiccuped: readers keep their place, the next round retries
                log.warning("reading changes of %s failed; retrying", self.timeline_id, exc_info=True)
            if loop.time() - active >= PING_EVERY:
                active = loop.time()
                self._ping()

    async def _broadcast(self) -> bool:
        """Offer every change after `last_seq` to the readers; whether there was any."""
        offered = False
        while changes := await self._store.change_docs(self.timeline_id, since=self.last_seq, limit=PAGE):
            frames = [frame(change) for change in changes]
            for reader in list(self.readers):
                reader.offer(frames)
            self.last_seq, offered = frames[-1].seq, True
        return offered

    async def _check(self) -> bool:
        """The timeline's `last_seq` says whether there is anything to read (a writer that cannot notify
        us), whether the timeline went back (a restored database: its readers are reset), or whether it is
        gone (its streams end, and the clients reconnect to whatever the slug names now)."""
        try:
            _, last_seq = await self._store.timeline_seq(self.timeline_id)
        except TimelineNotFoundError:
            for reader in self.readers:
                reader.ended = True
                reader.wake()
            return False
        if last_seq < self.last_seq:
            log.info("timeline %s went back from seq %d to %d", self.timeline_id, self.last_seq, last_seq)
            self.last_seq = last_seq
            reset = reset_frame(last_seq)
            for reader in self.readers:
                reader.restart(reset)
            return True
        return last_seq > self.last_seq and await self._broadcast()

    def _ping(self) -> None:
        for reader in self.readers:
            reader.ping = True
            reader.wake()


class Fanout:
    """Channels by timeline; the hub's callbacks land here."""

    def __init__(self, store: Store, seqs: SeqCache, *, queue_bound: int = 256) -> None:
        self._store = store
        self._seqs = seqs
        self._bound = queue_bound
        self._channels: dict[str, Channel] = {}
        self.closing = asyncio.Event()

    def on_change(self, timeline_id: str, seq: int) -> None:
        self._seqs.advance(timeline_id, seq)
        channel = self._channels.get(timeline_id)
        if channel is not None:
            channel.wake.set()

    def on_resync(self) -> None:
        for channel in self._channels.values():
            channel.wake.set()

    async def stream(self, timeline_id: str, since: int) -> AsyncGenerator[Frame | None, None]:
        """Every change after `since`: replayed from the store, then live, each seq once and in order;
        None when the timeline has been quiet for `PING_EVERY` seconds (time for a keep-alive). Live
        changes that queued up while the reader was busy come as one frame.

        Ends when the reader is dropped for being slow or the server is closing.
        """
        channel = await self._channel(timeline_id)
        reader = Reader(self._bound)
        channel.readers.add(reader)
        self._ensure_running(channel)
        try:
            if since > channel.last_seq:
                reset = await self._reset(timeline_id, since)
                if reset is not None:
                    yield reset
                    since = reset.seq
            boundary, sent = channel.last_seq, since
            async for replayed in self._replay(timeline_id, since, boundary):
                sent = replayed.seq
                yield replayed
            while not self.closing.is_set():
                while not (reader.frames or reader.ping or reader.ended):
                    reader.waiter = asyncio.get_running_loop().create_future()
                    try:
                        await reader.waiter
                    finally:
                        reader.waiter = None
                if reader.ended:
                    return
                ping = reader.ping
                live = reader.take(after=sent)  # frames up to the boundary came from the replay
                if live is not None:
                    sent = live.seq
                    yield live
                elif ping:
                    yield None
        finally:
            channel.readers.discard(reader)

    async def _channel(self, timeline_id: str) -> Channel:
        channel = self._channels.get(timeline_id)
        if channel is None:
            _, last_seq = await self._store.timeline_seq(timeline_id)
            channel = self._channels.setdefault(timeline_id, Channel(self._store, timeline_id, last_seq))
        return channel

    async def _reset(self, timeline_id: str, since: int) -> Frame | None:
        """A reset when `since` is past the timeline's `last_seq` in the store (the channel's may lag)."""
        try:
            _, last_seq = await self._store.timeline_seq(timeline_id)
        except TimelineNotFoundError:
            return reset_frame(0)
        return reset_frame(last_seq) if since > last_seq else None

    def _ensure_running(self, channel: Channel) -> None:
        if channel.task is None or channel.task.done():
            channel.task = asyncio.create_task(channel.run(), name=f"fanout {channel.timeline_id}")
            channel.task.add_done_callback(lambda _: self._forget(channel))

    def _forget(self, channel: Channel) -> None:
        if not channel.readers and self._channels.get(channel.timeline_id) is channel:
            del self._channels[channel.timeline_id]

    async def _replay(self, timeline_id: str, since: int, boundary: int) -> AsyncIterator[Frame]:
        """Changes in (since, boundary] from the store; later ones come live, so they are left out here."""
        while since < boundary:
            changes = await self._store.change_docs(timeline_id, since=since, limit=PAGE)
            if not changes:
                return
            for change in changes:
                if change.seq <= boundary:
                    yield frame(change)
            since = changes[-1].seq

    def end_streams(self) -> None:
        """Wake every reader so its stream ends now (server shutdown); new streams end at once too."""
        self.closing.set()
        for channel in list(self._channels.values()):
            for reader in channel.readers:
                reader.ended = True
                reader.wake()

    async def close(self) -> None:
        """End every stream and stop the channels."""
        self.end_streams()
        for channel in list(self._channels.values()):
            if channel.task is not None:
                channel.task.cancel()
        tasks = [c.task for c in self._channels.values() if c.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
