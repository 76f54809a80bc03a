"""API benchmark: the real server under wrk, reads side by side with the server's ceiling, a bare ASGI
hello-world on the same uvicorn, and with a hello-world route of the app itself.

    .venv/bin/python -m bench.api [--duration 10] [--repeat 3] [--reseed] [--no-granian] [--profile]
                                  [--baseline DIR]

Seeds one SQLite database (a 1,000- and a 1,000,000-event timeline, synthetic ~1 KB bodies; cached under
bench/out/ keyed by the seed version and the migrations: ~4 min and ~9 GB, once), starts `timeline api`
(uvicorn, one worker, production logging) pinned to one core with wrk on the other (taskset), and loads: a
bare ASGI app's hello-world (`bench._bare`, the ceiling: uvicorn with nothing above it), the app's own
`/healthz`, a `304` revalidation, the cached first page, and uncached deep pages on both timelines (more
distinct cursor URLs than the server's page LRU holds, round-robin: every request renders). Each load: a
warm-up, `--repeat` measured runs at `--connections` taken in rounds (bare, hello, 304, cached, deep, then
again), so that a disturbed minute on this shared machine touches every load alike, and a run on one
connection (unloaded latency). `--baseline DIR` also serves the code of another checkout (`git worktree add
DIR main`) over the same database and measures it in the same rounds, load beside load: a before/after.
Then the same app under granian, for the choice of ASGI server. Needs `wrk` (`apt-get install wrk`) and,
for the comparison, granian in the venv (`pip install granian`); `--profile` needs py-spy (`pip install
py-spy`). Targets, against the bare ASGI hello: 304 ≥ 0.8×, cached page ≥ 0.6×, uncached deep page ≥ 0.2×,
and the deep page's throughput within 20 % from the 1k- to the 1M-event timeline. Writes `## API (issue 4)`
in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx
import orjson
from litestar import Litestar

from bench._cpu import children_cpu, group_cpu, machine_cpu
from bench._results import RESULTS, write_section
from timeline.api import create_app
from timeline.ids import SortKey, encode_cursor, event_id
from timeline.metrics import Metrics
from timeline.models import Event, EventDraft
from timeline.settings import get_settings
from timeline.store import Store
from timeline.wiring import polling

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SEED_VERSION = 1
TIMELINES = {"bench-1k": 1_000, "bench-1m": 1_000_000}  # slug → events
DEEP_CURSORS = {"bench-1k": 800, "bench-1m": 5_000}  # distinct cursors from the middle; × 2 orders
CHUNK = 10_000
# apply(complete=False) plans against every stored event of its source (0.45 s per 10k chunk on an empty
# source, 1.7 s at 200k stored), so the 1M timeline gets a source per 100k events.
PER_SOURCE = 100_000
PAGE_CACHE_ENTRIES = 1024  # timeline.api.caching.PageCache default: the rotations must be longer
START = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)
STEP = timedelta(seconds=7)
PARAGRAPH = (
    "<p>Polls have closed in the eastern states and the first <strong>results</strong> are coming in. "
    "Our correspondents report long queues in <a href='https://news.example/live/queues'>several "
    "districts</a>, and officials say counting will continue through the night.</p>"
)
TEXT = (
    "Polls have closed in the eastern states and the first results are coming in. Our correspondents "
    "report long queues in several districts, and officials say counting will continue through the night. "
)
TARGETS = {"304": 0.8, "cached": 0.6, "deep-1k": 0.2, "deep-1m": 0.2}  # × the bare ASGI hello
DEEP_SCALING_TARGET = 0.8  # 1M-event deep page throughput ≥ 0.8× the 1k-event one ("within 20 %")
APP_LOADS = ("hello", "304", "cached", "deep-1k", "deep-1m", "timeline")
UVICORN_LOADS = ("bare", *APP_LOADS)
GRANIAN_LOADS = ("hello", "304", "cached")
LABELS = {
    "bare": "bare ASGI hello-world, same uvicorn (ceiling)",
    "hello": "Litestar hello-world `GET /healthz`",
    "304": "`304` revalidation (`If-None-Match`)",
    "cached": "cached first page (20 events)",
    "deep-1k": "uncached deep page, 1k-event timeline",
    "deep-1m": "uncached deep page, 1M-event timeline",
    "timeline": "one timeline with its 10 sources (`GET /timelines/{id}`, read each time)",
}


# --- seeding -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    path: Path
    timeline_ids: dict[str, str]  # slug → id

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.path}"


def _seed_key() -> str:
    """Changes when the seed or the schema does (migrations are edited in place during development)."""
    digest = hashlib.blake2b(f"{SEED_VERSION} {sorted(TIMELINES.items())}".encode(), digest_size=4)
    for path in sorted((ROOT / "timeline" / "store" / "migrations" / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _draft(source_id: str, i: int, total: int) -> EventDraft:
    """Event `i`: ~1 KB of HTML plus its text, distinct content, 7 s after event `i - 1`."""
    upstream = f"u{i:07d}"
    return EventDraft(
        id=event_id(source_id, upstream),
        source_id=source_id,
        upstream_id=upstream,
        url=f"https://news.example/live/election#{upstream}",
        published_at=START + STEP * i,
        title=f"Update {i}",
        body_html=PARAGRAPH * 4 + f"<p>Update number {i}.</p>",
        body_text=TEXT * 4 + f"Update number {i}.",
        key_event=i % 25 == 0,
        pinned=i == total - 3,  # one pinned event, as live blogs usually have
        content_hash=hashlib.blake2b(f"{source_id} {i}".encode(), digest_size=16).hexdigest(),
    )


async def _fill(store: Store, slug: str, total: int) -> str:
    timeline = await store.create_timeline(f"Bench, {total:,} events", slug=slug, now=START)
    started, source_id = time.perf_counter(), ""
    for first in range(0, total, CHUNK):
        if first % PER_SOURCE == 0:
            url = f"https://news.example/live/{slug}/{first}"
            source_id = (await store.add_source(timeline.id, url, "guardian", now=START)).id
        drafts = [_draft(source_id, i, total) for i in range(first, min(first + CHUNK, total))]
        await store.apply(source_id, drafts, complete=False, now=START)
        done = first + len(drafts)
        if done % PER_SOURCE == 0 or done == total:
            rate = done / (time.perf_counter() - started)
            print(f"  seeding {slug}: {done:,}/{total:,} events ({rate:,.0f}/s)", flush=True)
    return timeline.id


async def _seed(url: str) -> dict[str, str]:
    async with await Store.open(url, migrate=True) as store:
        return {slug: await _fill(store, slug, total) for slug, total in TIMELINES.items()}


def ensure_database(reseed: bool) -> Seeded:
    """The seeded database, built only when missing (or `reseed`); an interrupted seed is not reused."""
    OUT.mkdir(parents=True, exist_ok=True)
    key = _seed_key()
    path, marker = OUT / f"api-{key}.db", OUT / f"api-{key}.json"
    if path.exists() and marker.exists() and not reseed:
        print(f"Using the seeded database {path.relative_to(ROOT)} (--reseed rebuilds it).", flush=True)
        return Seeded(path, orjson.loads(marker.read_bytes()))
    for old in [*OUT.glob("api-*.db*"), *OUT.glob("api-*.json")]:
        old.unlink()
    print(f"Seeding {path.relative_to(ROOT)} (once per seed version):", flush=True)
    seeded = Seeded(path, {})
    ids = asyncio.run(_seed(seeded.url))
    marker.write_bytes(orjson.dumps(ids))
    return Seeded(path, ids)


# --- loads ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    name: str
    paths: tuple[str, ...]  # more than one: requested round-robin, continuing from run to run
    headers: tuple[tuple[str, str], ...] = ()


def _events_path(slug: str, query: str = "") -> str:
    return f"/api/v1/timelines/{slug}/events" + (f"?{query}" if query else "")


def _cursor(event: Event) -> str:
    return encode_cursor(SortKey(event.published_at, event.position, event.id))


async def _deep_cursors(seeded: Seeded, slug: str) -> list[str]:
    """Cursors of consecutive events from the middle of the timeline, found by walking it with `after=`."""
    count, total, timeline_id = DEEP_CURSORS[slug], TIMELINES[slug], seeded.timeline_ids[slug]
    since = START + STEP * ((total - count) // 2)
    async with await Store.open(seeded.url) as store:
        page = await store.page(timeline_id, order="asc", since=since, limit=200)
        cursors = [_cursor(event) for event in page.events]
        while len(cursors) < count and page.next:
            page = await store.page(timeline_id, order="asc", after=page.next, limit=200)
            cursors += [_cursor(event) for event in page.events]
    return cursors[:count]


def deep_load(seeded: Seeded, slug: str) -> Load:
    """Pages of 20 after each cursor, in both orders: every URL distinct, every page full."""
    cursors = asyncio.run(_deep_cursors(seeded, slug))
    paths = tuple(
        _events_path(slug, f"order={order}&limit=20&after={cursor}")
        for order in ("desc", "asc")
        for cursor in cursors
    )
    assert len(paths) > PAGE_CACHE_ENTRIES, "the rotation must be longer than the page cache"
    return Load(f"deep-{slug.removeprefix('bench-')}", paths)


def _get(
    client: httpx.Client, path: str, expect: int, headers: dict[str, str] | None = None
) -> httpx.Response:
    response = client.get(path, headers=headers)
    if response.status_code != expect:
        raise RuntimeError(f"GET {path}: {response.status_code}, expected {expect}: {response.text[:300]}")
    return response


def _full_page(client: httpx.Client, path: str) -> None:
    events = _get(client, path, 200).json()["events"]
    if len(events) != 20:
        raise RuntimeError(f"GET {path}: {len(events)} events, expected 20")


def check_and_build_loads(base: str, deep: Iterable[Load]) -> dict[str, Load]:
    """Every load, after checking its answers once (deep pages: the last of each rotation, which wrk
    reaches only after more than `PAGE_CACHE_ENTRIES` other URLs, so checking them caches nothing used)."""
    big = max(TIMELINES, key=TIMELINES.__getitem__)
    with httpx.Client(base_url=base, timeout=120) as client:
        _get(client, "/healthz", 200)
        tag = _get(client, _events_path(big), 200).headers["etag"]
        _get(client, _events_path(big), 304, {"If-None-Match": tag})
        _full_page(client, _events_path(big, "limit=20"))
        for load in deep:
            for path in load.paths[-2:]:
                _full_page(client, path)
    return {
        "hello": Load("hello", ("/healthz",)),
        "304": Load("304", (_events_path(big),), (("If-None-Match", tag),)),
        "cached": Load("cached", (_events_path(big, "limit=20"),)),
        "timeline": Load("timeline", (f"/api/v1/timelines/{big}",)),
        **{load.name: load for load in deep},
    }


# --- servers -------------------------------------------------------------------------------------------


def granian_app() -> Litestar:
    """The app as `timeline api` builds it, for `granian --interface asgi --factory bench.api:granian_app`."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("feeds.fetch").setLevel(logging.INFO)
    settings, metrics = get_settings(), Metrics()
    return create_app(settings, polling=polling(settings, metrics=metrics, poll=False), metrics=metrics)


SERVERS = {
    "uvicorn": "`timeline api` (uvicorn, uvloop + httptools, log level warning, no access log), 1 worker",
    "granian": "`granian --interface asgi --loop uvloop --workers 1 --log-level warning --no-access-log`, "
    "the app built as `timeline api` builds it",
}


def _server_command(kind: str, port: int) -> list[str]:
    address = ["--host", "127.0.0.1", "--port", str(port)]
    if kind == "bare":
        return [sys.executable, "-m", "bench._bare", *address]
    if kind == "uvicorn":
        return [sys.executable, "-m", "timeline", "api", *address]
    granian = Path(sys.executable).with_name("granian")
    return [
        *(str(granian), "--interface", "asgi", "--loop", "uvloop", "--workers", "1", *address),
        *("--log-level", "warning", "--no-access-log", "--working-dir", str(ROOT)),
        *("--factory", "bench.api:granian_app"),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within 60 s:\n{log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful shutdown closes the store), then SIGKILL to whatever is left of its group."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(15)
    # The session we started holds the server and any worker it forked (granian), and nothing else.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass(frozen=True)
class Server:
    kind: str
    base: str
    pid: int  # also its process group: `serve` starts it in a session of its own


@contextmanager
def serve(kind: str, seeded: Seeded, cpu: int | None, root: Path = ROOT) -> Iterator[Server]:
    """The server on 127.0.0.1 over the seeded database, stopped on exit, error or Ctrl-C; `root`: the
    checkout whose code it runs (first on the path, before the installed one)."""
    port = _free_port()
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    log = OUT / f"api-server-{kind}{'' if root == ROOT else '-baseline'}.log"
    env = {**os.environ, "TIMELINE_DATABASE_URL": seeded.url, "PYTHONPATH": str(root)}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*pin, *_server_command(kind, port)],
            cwd=root,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us, and we stop it
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(process, base, log)
            yield Server(kind, base, process.pid)
        finally:
            _stop(process)


# --- CPU accounting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuMark:
    machine: float
    server: float
    children: float

    @classmethod
    def now(cls, server: Server) -> CpuMark:
        return cls(machine_cpu(), group_cpu(server.pid), children_cpu())

    def others_since(self, start: CpuMark) -> float:
        """CPU seconds neither the server nor wrk used: other work on the machine disturbing a run."""
        ours = (self.server - start.server) + (self.children - start.children)
        return max(0.0, self.machine - start.machine - ours)


def wait_quiet(server: Server, limit: float, threshold: float = 0.1) -> None:
    """Until other processes use less than `threshold` of a core for a second (at most `limit` s)."""
    deadline, said = time.monotonic() + limit, False
    while True:
        start = CpuMark.now(server)
        time.sleep(1)
        others = CpuMark.now(server).others_since(start)
        if others < threshold or time.monotonic() > deadline:
            return
        if not said:
            print(f"    waiting for a quieter machine (others use {others:.2f} cores)…", flush=True)
            said = True


def wait_idle(server: Server, limit: float = 300) -> None:
    """Until the server has worked off what a finished wrk left in flight (< 5 % CPU for half a second)."""
    deadline, used = time.monotonic() + limit, group_cpu(server.pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = group_cpu(server.pid)
        if now - used < 0.025:
            return
        used = now


# --- wrk -----------------------------------------------------------------------------------------------

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_RESULT %d %d %d %.0f %.0f %d %d %d\\n", summary.requests, summary.duration,
    summary.bytes, latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write, e.timeout,
    e.status))
end
"""


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lua(load: Load) -> str:
    """A static request (wrk pre-builds it: no Lua per request) or a round-robin over the paths."""
    if len(load.paths) == 1:
        lines = [f"wrk.path = {_lua_string(load.paths[0])}"]
        lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in load.headers]
        return "\n".join(lines) + _DONE
    listed = ",\n".join(map(_lua_string, load.paths))
    return (
        f"local paths = {{\n{listed}\n}}\nlocal i = 0\n"
        "init = function(args) i = tonumber(args[1]) or 0 end\n"
        "request = function()\n  i = i + 1\n  return wrk.format('GET', paths[(i - 1) % #paths + 1])\nend\n"
        + _DONE
    )


@dataclass(frozen=True)
class Result:
    requests: int  # completed, whatever their status
    seconds: float
    bytes: int
    p50_ms: float
    p99_ms: float
    socket_errors: int
    timeouts: int  # completed or not, slower than wrk's --timeout: left out of the percentiles
    bad_status: int  # neither 2xx nor 3xx
    server_cpu: float  # CPU seconds the server used during the run (all its threads)
    others_cpu: float  # cores' worth of CPU used by other processes during the run

    @property
    def rps(self) -> float:
        """Successful responses per second."""
        return (self.requests - self.bad_status) / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return 1e6 * self.server_cpu / max(self.requests, 1)

    @property
    def kb_per_response(self) -> float:
        return self.bytes / max(self.requests, 1) / 1024


@dataclass(frozen=True)
class Wrk:
    connections: int
    timeout: int
    cpu: int | None

    def run(self, server: Server, load: Load, seconds: int, connections: int, offset: int) -> Result:
        script = OUT / f"api-{load.name}.lua"
        script.write_text(_lua(load))
        pin = ["taskset", "-c", str(self.cpu)] if self.cpu is not None else []
        limits = [f"-c{connections}", f"-d{seconds}s", f"--timeout={self.timeout}s"]
        command = [*pin, "wrk", "-t1", *limits, "-s", str(script), server.base, "--", str(offset)]
        start = CpuMark.now(server)
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        end = CpuMark.now(server)
        return _parse(output, end.server - start.server, end.others_since(start))


def _parse(output: str, server_cpu: float, others_cpu: float) -> Result:
    line = next((x for x in output.splitlines() if x.startswith("WRK_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    requests, micros, size, p50, p99, errors, timeouts, status = (int(x) for x in line.split()[1:])
    seconds = micros / 1e6
    return Result(
        requests=requests,
        seconds=seconds,
        bytes=size,
        p50_ms=p50 / 1e3,
        p99_ms=p99 / 1e3,
        socket_errors=errors,
        timeouts=timeouts,
        bad_status=status,
        server_cpu=server_cpu,
        others_cpu=others_cpu / seconds,
    )


# --- measuring -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    duration: int
    warmup: int
    repeat: int
    quiet_wait: int
    wrk: Wrk
    server_cpu: int | None
    profile: bool


@dataclass(frozen=True)
class Measured:
    loaded: Result  # at --connections: the best of --repeat runs
    single: Result  # on one connection: unloaded latency


@contextmanager
def profiling(server: Server, load: str, seconds: int, enabled: bool) -> Iterator[None]:
    """A py-spy flame graph of the server (GIL holders only) during a run, to bench/out/."""
    if not enabled:
        yield
        return
    svg = OUT / f"api-profile-{server.kind}-{load}.svg"
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(server.pid), "--duration", str(seconds), "--rate", "250"]
    process = subprocess.Popen(
        [*command, "--subprocesses", "--gil", "--nonblocking", "--output", str(svg)],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.wait(seconds + 60)
        print(f"    profile: {svg.relative_to(ROOT)}", flush=True)


class Rotation:
    """Where a round-robin load goes on: no URL comes round again within `PAGE_CACHE_ENTRIES` requests,
    across warm-up, runs and the requests a finished wrk left in flight."""

    def __init__(self, load: Load) -> None:
        self._size, self.offset = len(load.paths), 0

    def advance(self, result: Result, connections: int) -> None:
        self.offset = (self.offset + result.requests + connections) % self._size


class Bench:
    """One load against one server: its rotation, its runs, each on an idle server."""

    def __init__(self, server: Server, load: Load, options: Options) -> None:
        self.server, self.load, self.options = server, load, options
        self.rotation = Rotation(load)
        self.runs: list[Result] = []

    def _run(self, seconds: int, connections: int) -> Result:
        result = self.options.wrk.run(self.server, self.load, seconds, connections, self.rotation.offset)
        self.rotation.advance(result, connections)
        wait_idle(self.server)
        return result

    def warm_up(self) -> None:
        if self.options.warmup:
            self._run(self.options.warmup, self.options.wrk.connections)

    def measure_once(self) -> None:
        options = self.options
        wait_quiet(self.server, options.quiet_wait)
        profile = options.profile and not self.runs
        with profiling(self.server, self.load.name, options.duration, profile):
            self.runs.append(self._run(options.duration, options.wrk.connections))

    def measured(self) -> Measured:
        """The best run, and a run on one connection (unloaded latency)."""
        single = self._run(max(self.options.warmup, 3), 1)
        return Measured(max(self.runs, key=lambda r: r.rps), single)


Results = dict[str, Measured]


def measure_servers(
    kind: str,
    seeded: Seeded,
    deep: list[Load],
    names: tuple[str, ...],
    options: Options,
    baseline: Path | None,
) -> tuple[Results, Results | None]:
    """Every load `--repeat` times, in rounds of one run each: the machine is shared, and a disturbed
    minute then costs every load a run rather than all the runs of one load (and so its ratio). The bare
    ASGI app (load `bare`) and the `baseline` checkout's server run beside the app, pinned to the same
    core, each load of the baseline measured right after the same load of the app."""
    with contextlib.ExitStack() as stack:
        benches: dict[tuple[str, str], Bench] = {}
        if "bare" in names:
            bare = stack.enter_context(serve("bare", seeded, options.server_cpu))
            benches["new", "bare"] = Bench(bare, Load("bare", ("/",)), options)
        servers = {"new": stack.enter_context(serve(kind, seeded, options.server_cpu))}
        if baseline is not None:
            servers["old"] = stack.enter_context(serve(kind, seeded, options.server_cpu, baseline))
        wanted = [d for d in deep if d.name in names]
        loads = {version: check_and_build_loads(server.base, wanted) for version, server in servers.items()}
        for name in (n for n in names if n != "bare"):
            for version, server in servers.items():
                benches[version, name] = Bench(server, loads[version][name], options)
        for bench in benches.values():
            bench.warm_up()
        for round_ in range(1, options.repeat + 1):
            print(f"  {kind}: round {round_} of {options.repeat}", flush=True)
            for bench in benches.values():
                bench.measure_once()
        results = {key: bench.measured() for key, bench in benches.items()}
    new = {name: measured for (version, name), measured in results.items() if version == "new"}
    old = {name: measured for (version, name), measured in results.items() if version == "old"}
    for name, measured in new.items():
        print(f"  {kind:8} {_row(name, measured, new, options.wrk.timeout)}", flush=True)
    return new, old if baseline is not None else None


# --- report --------------------------------------------------------------------------------------------


def _p99(result: Result, timeout: int) -> str:
    """wrk leaves requests slower than its timeout out of the histogram: past 1 % of them, p99 is unknown."""
    if result.requests == 0:
        return "none completed"
    if result.timeouts > result.requests / 100:
        return f"> {timeout} s ({result.timeouts:,} timed out)"
    return _ms(result.p99_ms)


def _ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 1000 else f"{value / 1000:,.2f} s"


def _times(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "–"


def _row(name: str, measured: Measured, results: Results, timeout: int) -> str:
    """One load's row; its ratios to the bare ASGI hello (the target's) and to the app's `/healthz`."""
    result, single = measured.loaded, measured.single
    ratio = result.rps / results["bare"].loaded.rps if "bare" in results else None
    target = TARGETS.get(name)
    goal = f"≥ {target}×" if target else ""
    verdict = "" if target is None or ratio is None else "met" if ratio >= target else "**missed**"
    errors = result.socket_errors + result.bad_status
    return (
        f"| {LABELS[name]} | {result.rps:,.0f} | {_ms(result.p50_ms)} | {_p99(result, timeout)} "
        f"| {_ms(single.p50_ms) if single.requests else 'none completed'} "
        f"| {result.cpu_us_per_request:,.0f} µs | {result.kb_per_response:,.1f} "
        f"| {'–' if ratio is None else f'{ratio:.2f}×'} "
        f"| {_times(result.rps, results['hello'].loaded.rps)} | {goal} | {verdict} "
        f"| {errors or ''} | {result.others_cpu:.2f} |"
    )


def main_table(results: Results, timeout: int) -> list[str]:
    rows = [
        "| load | req/s | p50 | p99 | p50, 1 connection | server CPU/req | KB/resp | vs bare ASGI "
        "| vs `/healthz` | target (vs bare) | | errors | others' CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        *(_row(name, results[name], results, timeout) for name in UVICORN_LOADS),
    ]
    small, big = results["deep-1k"], results["deep-1m"]
    scaling = big.loaded.rps / small.loaded.rps if small.loaded.rps else 0.0
    verdict = "met" if scaling >= DEEP_SCALING_TARGET else "**missed**"
    rows.append(
        f"| deep page: 1M- vs 1k-event timeline | {scaling:.2f}× | | "
        f"| {_times(big.single.p50_ms, small.single.p50_ms)} "
        f"| {_times(big.loaded.cpu_us_per_request, small.loaded.cpu_us_per_request)} "
        f"| | | | ≥ {DEEP_SCALING_TARGET}× | {verdict} | | |"
    )
    return rows


def baseline_table(old: Results, new: Results, timeout: int) -> list[str]:
    """The baseline checkout's server beside this one's, load by load, measured in the same rounds."""
    rows = [
        "| load | before req/s | after req/s | after/before | before CPU/req | after CPU/req | before p99 "
        "| after p99 | others' CPU (before, after) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in APP_LOADS:
        b, a = old[name].loaded, new[name].loaded
        rows.append(
            f"| {LABELS[name]} | {b.rps:,.0f} | {a.rps:,.0f} | {_times(a.rps, b.rps)} "
            f"| {b.cpu_us_per_request:,.0f} µs | {a.cpu_us_per_request:,.0f} µs "
            f"| {_p99(b, timeout)} | {_p99(a, timeout)} | {b.others_cpu:.2f}, {a.others_cpu:.2f} |"
        )
    return rows


def server_table(uvicorn: Results, granian: Results) -> list[str]:
    rows = [
        "| load | uvicorn req/s | p99 | vs hello | granian req/s | p99 | vs hello | granian/uvicorn |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in GRANIAN_LOADS:
        u, g = uvicorn[name].loaded, granian[name].loaded
        u_hello, g_hello = uvicorn["hello"].loaded, granian["hello"].loaded
        rows.append(
            f"| {LABELS[name]} | {u.rps:,.0f} | {_ms(u.p99_ms)} | {_times(u.rps, u_hello.rps)} "
            f"| {g.rps:,.0f} | {_ms(g.p99_ms)} | {_times(g.rps, g_hello.rps)} | {_times(g.rps, u.rps)} |"
        )
    return rows


def _revision(checkout: Path) -> str:
    """The commit a checkout is at, as `git log` names it."""
    found = subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    )
    return f"`{found.stdout.strip()[:90]}`" if found.returncode == 0 else str(checkout)


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    return next((x.split(":", 1)[1].strip() for x in lines if x.startswith("model name")), "unknown CPU")


def _versions() -> str:
    found = []
    for name in ("litestar", "uvicorn", "granian"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


def _pinning(options: Options) -> str:
    if options.server_cpu is None:
        return "not pinned (no taskset or one core): the server and wrk share the cores"
    return f"server pinned to CPU {options.server_cpu}, wrk to CPU {options.wrk.cpu} (taskset)"


def notes(options: Options) -> str:
    """What the section says after the machine: CPU, versions, server, load and data."""
    wrk = options.wrk
    rotations = {slug: 2 * count for slug, count in DEEP_CURSORS.items()}
    best = (
        f", best of {options.repeat} runs taken in rounds (each load once per round)"
        if options.repeat > 1
        else ""
    )
    lines = [
        f"{_cpu_model()}; {_versions()}.  ",
        f"Server: {SERVERS['uvicorn']}; {_pinning(options)}. The ceiling: `python -m bench._bare`, a bare "
        'ASGI app answering `{"status":"ok"}` to any GET, on uvicorn configured as `timeline api` '
        "configures it (`timeline.cli.uvicorn_config`), pinned to the same core.  ",
        f"Load: `wrk -t1 -c{wrk.connections} -d{options.duration}s --timeout {wrk.timeout}s`{best}, after a "
        f"{options.warmup} s warm-up, from another process on 127.0.0.1; then `-c1` for the unloaded p50. "
        "Each run starts on an idle server, once other processes have used < 0.1 core for a second (at "
        f"most {options.quiet_wait} s of waiting); req/s counts 2xx/3xx only. Server CPU/req: the server's "
        "CPU time (all threads) over the requests completed. Others' CPU: cores' worth used by other "
        "processes during the run (the machine is shared: above ~0.1 the row is disturbed).  ",
        f"Data: one SQLite file, timelines of {TIMELINES['bench-1k']:,} and {TIMELINES['bench-1m']:,} "
        "events (~1 KB body_html plus its text each, one pinned). The 304 and the cached page read the 1M "
        "timeline; the 304 path includes the seq cache's re-read of `last_seq` (at most once a second). "
        f"Deep pages: `?order=desc|asc&limit=20&after=<cursor>` round-robin over {rotations['bench-1k']:,} "
        f"(1k) and {rotations['bench-1m']:,} (1M) distinct URLs from the middle of the timeline, more than "
        f"the {PAGE_CACHE_ENTRIES:,}-entry page LRU holds: every request renders.",
    ]
    return "\n".join(lines)


def tables(
    uvicorn: Results, granian: Results | None, baseline: tuple[str, Results] | None, timeout: int
) -> list[str]:
    rows = main_table(uvicorn, timeout)
    if baseline:
        described, old = baseline
        rows += ["", f"Before/after, in the same rounds: before = {described}.", ""]
        rows += baseline_table(old, uvicorn, timeout)
    if granian:
        rows += [
            "",
            f"ASGI server, same app and loads: {SERVERS['granian']}.",
            "",
            *server_table(uvicorn, granian),
            "",
            "Beyond throughput: granian silently stalls SSE connections past its "
            "`--backpressure` limit (it must be set above the stream limit) and holds ~41 KB per SSE "
            "client against ~23 KB for uvicorn.",
        ]
    return rows


# --- main ----------------------------------------------------------------------------------------------


def _cpus() -> tuple[int | None, int | None]:
    """A core for the server and another for wrk, when taskset and two cores are there."""
    cpus = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") and len(cpus) >= 2:
        return cpus[0], cpus[1]
    return None, None


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through `serve`, which stops the server


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="Seconds per measured run.")
    parser.add_argument("--warmup", type=int, default=2, help="Seconds of warm-up before each load.")
    parser.add_argument("--repeat", type=int, default=3, help="Measured runs per load; the best counts.")
    parser.add_argument(
        "--quiet-wait", type=int, default=120, help="Seconds to wait at most for other work to stop."
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--timeout", type=int, default=10, help="wrk's per-request timeout, seconds.")
    parser.add_argument("--reseed", action="store_true", help="Rebuild the cached database.")
    parser.add_argument("--no-granian", action="store_true", help="Skip the granian comparison.")
    parser.add_argument("--profile", action="store_true", help="py-spy flame graphs to bench/out/.")
    parser.add_argument(
        "--baseline", type=Path, help="A checkout whose server to measure beside this one (before/after)."
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if not shutil.which("wrk"):
        sys.exit("bench/api.py needs wrk: apt-get install -y wrk")
    server_cpu, wrk_cpu = _cpus()
    wrk = Wrk(args.connections, args.timeout, wrk_cpu)
    repeat = max(args.repeat, 1)
    options = Options(args.duration, args.warmup, repeat, args.quiet_wait, wrk, server_cpu, args.profile)
    print(f"{_cpu_model()}; {_pinning(options)}.", flush=True)
    seeded = ensure_database(args.reseed)
    deep = [deep_load(seeded, slug) for slug in TIMELINES]
    uvicorn, old = measure_servers("uvicorn", seeded, deep, UVICORN_LOADS, options, args.baseline)
    granian = None
    if args.no_granian:
        pass
    elif Path(sys.executable).with_name("granian").exists():
        granian, _ = measure_servers("granian", seeded, deep, GRANIAN_LOADS, options, None)
    else:
        print("granian is not installed in this venv: no server comparison", flush=True)
    baseline = (_revision(args.baseline), old) if args.baseline and old else None
    rows = tables(uvicorn, granian, baseline, wrk.timeout)
    print("", *rows, sep="\n")
    command = "python -m bench.api " + " ".join(sys.argv[1:])
    write_section(args.out, "API (issue 4)", command, notes(options), rows)


if __name__ == "__main__":
    main()
