"""Where a read's time goes: the app as `timeline api` builds it, driven by ASGI calls in this process, with
no server and no sockets, so that what is counted is the app's own work per request, all of it above what
a bare ASGI app costs.

    .venv/bin/python -m bench.read_path [--requests 2000]              # cProfile, the top functions per load
    .venv/bin/python -m bench.read_path --callgrind [--root DIR]       # instructions per request per load

`--callgrind` runs the loads under `valgrind --tool=callgrind` and reads how many instructions each load's
requests took (every thread's, SQLite's included): a count that other work on a shared machine does not
disturb, so two revisions compare run against run. `--root` runs the code of another checkout (`git
worktree add /tmp/old main`) over the same database and loads, for a before/after. The database is
bench.api's (seeded there, once).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 200
# Loads as bench.api runs them: (name, paths requested round-robin, extra headers); the 304 learns its tag.
Loads = list[tuple[str, list[str], list[tuple[str, str]]]]

# --- the child: loads in this process ----------------------------------------------------------------------


def _scope(path: str, headers: list[tuple[str, str]]) -> dict[str, Any]:
    """What uvicorn hands the app for a GET of `path` from wrk (which sends `Host` and nothing else)."""
    route, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8000"), *((k.lower().encode(), v.encode()) for k, v in headers)],
        "state": {},
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class _Reply:
    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status, self.headers = message["status"], list(message["headers"])


async def _get(app: Any, path: str, headers: list[tuple[str, str]]) -> _Reply:
    reply = _Reply()
    await app(_scope(path, headers), _receive, reply)
    if reply.status not in (200, 304):
        raise RuntimeError(f"GET {path}: {reply.status}")
    return reply


async def _start(app: Any) -> Callable[[], Awaitable[None]]:
    """The app's lifespan started; returns what shuts it down."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started, stopped = asyncio.Event(), asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].endswith(".failed"):
            raise RuntimeError(message.get("message"))
        (started if message["type"] == "lifespan.startup.complete" else stopped).set()

    inbox.put_nowait({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, inbox.get, send))
    await started.wait()

    async def stop() -> None:
        inbox.put_nowait({"type": "lifespan.shutdown"})
        await stopped.wait()
        await task

    return stop


def _app() -> Any:
    """The app exactly as `timeline api` builds it (settings from TIMELINE_*)."""
    from timeline.api import create_app
    from timeline.api.stream import tune_gc
    from timeline.metrics import Metrics
    from timeline.settings import get_settings
    from timeline.web import web_routes
    from timeline.wiring import make_hub, polling

    settings, metrics = get_settings(), Metrics()
    tune_gc()
    factory = polling(settings, metrics=metrics, poll=False)
    return create_app(settings, polling=factory, hub=make_hub(settings), metrics=metrics, pages=web_routes())


async def _run_loads(loads: Loads, requests: int, mark: Callable[[], None], profile: Path | None) -> None:
    app = _app()
    stop = await _start(app)
    try:
        for name, paths, headers in loads:
            if name == "304":
                tag = dict((await _get(app, paths[0], [])).headers)[b"etag"]
                headers = [("If-None-Match", tag.decode())]
            for i in range(WARMUP):
                # From the end of a rotation: its first pages come round again only after all the others.
                await _get(app, paths[(i - WARMUP) % len(paths)], headers)
            profiler = cProfile.Profile() if profile else None
            mark()
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            for i in range(requests):
                await _get(app, paths[i % len(paths)], headers)
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - started
            mark()
            print(f"{name} {requests} {elapsed:.6f}", flush=True)
            if profiler and profile:
                profiler.dump_stats(profile / f"{name}.prof")
    finally:
        await stop()


def child(spec: Path) -> None:
    given = json.loads(spec.read_text())
    loads: Loads = [(n, p, [tuple(h) for h in hs]) for n, p, hs in given["loads"]]  # type: ignore[misc]
    profile = Path(given["profile"]) if given.get("profile") else None
    # A marker callgrind dumps its counts before (`--dump-before=getppid`): between two, one load's requests.
    asyncio.run(_run_loads(loads, given["requests"], os.getppid, profile))


# --- the parent: loads, runs, report -------------------------------------------------------------------


def build_loads() -> tuple[str, Loads]:
    """The seeded database's URL, and bench.api's loads over it (deep pages: a rotation per timeline)."""
    from bench.api import TIMELINES, _events_path, deep_load, ensure_database

    seeded = ensure_database(reseed=False)
    big = max(TIMELINES, key=TIMELINES.__getitem__)
    loads: Loads = [
        ("healthz", ["/healthz"], []),
        ("304", [_events_path(big)], []),
        ("cached", [_events_path(big, "limit=20")], []),
        ("timeline", [f"/api/v1/timelines/{big}"], []),
    ]
    for slug in TIMELINES:
        load = deep_load(seeded, slug)
        loads.append((load.name, list(load.paths), []))
    return seeded.url, loads


def _run_child(
    url: str, loads: Loads, requests: int, root: Path, profile: Path | None, callgrind: Path | None
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump({"loads": loads, "requests": requests, "profile": str(profile or "")}, spec)
    # This file by path with `root` first on the path: the code under test is that checkout's.
    command = [sys.executable, str(Path(__file__).resolve()), "--child", spec.name]
    if callgrind is not None:
        out = callgrind / "callgrind.out.%p"
        valgrind = ["valgrind", "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}"]
        command = [*valgrind, "--dump-instr=no", "--trace-children=no", *command]
    env = {**os.environ, "TIMELINE_DATABASE_URL": url, "PYTHONPATH": str(root), "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True)
    Path(spec.name).unlink()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    seconds = {}
    for line in done.stdout.splitlines():
        name, count, elapsed = line.split()
        seconds[name] = float(elapsed) / int(count)
    return seconds


_TOTALS = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


def _instructions(directory: Path) -> list[int]:
    """Instructions of each dumped part, in order (part 1: start-up and the first warm-up)."""
    parts = sorted(
        (int(p.suffix[1:]), p) for p in directory.glob("callgrind.out.*.*") if p.suffix[1:].isdigit()
    )
    counts = []
    for _, path in parts:
        found = _TOTALS.search(path.read_text(errors="replace"))
        counts.append(int(found.group(1)) if found else 0)
    return counts


def callgrind(url: str, loads: Loads, requests: int, root: Path) -> dict[str, float]:
    """Instructions per request of each load (parts 2, 4, …: between the marks around its requests)."""
    with tempfile.TemporaryDirectory() as directory:
        _run_child(url, loads, requests, root, None, Path(directory))
        counts = _instructions(Path(directory))
    measured = counts[1::2]
    return {name: count / requests for (name, _, _), count in zip(loads, measured, strict=False)}


def profile_summary(url: str, loads: Loads, requests: int, root: Path, top: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        seconds = _run_child(url, loads, requests, root, Path(directory), None)
        for name, _, _ in loads:
            out = io.StringIO()
            stats = pstats.Stats(str(Path(directory) / f"{name}.prof"), stream=out)
            stats.sort_stats("tottime").print_stats(top)
            print(f"\n### {name}: {seconds[name] * 1e6:,.0f} µs per request in process (profiled)\n")
            print(_compact(out.getvalue()))


def _compact(text: str) -> str:
    """pstats' table without its preamble, paths shortened to the package."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    shortened = [re.sub(r"\S*/(site-packages|wt-[^/]+|perf-reads-[^/]+)/", "", x) for x in lines[start:]]
    return "\n".join(x for x in shortened if x.strip())


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--requests", type=int, default=2000, help="Measured requests per load.")
    parser.add_argument("--callgrind", action="store_true", help="Count instructions under valgrind.")
    parser.add_argument("--root", type=Path, action="append", help="Checkout(s) whose code to run.")
    parser.add_argument("--top", type=int, default=25, help="Functions listed per load (cProfile).")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    url, loads = build_loads()
    roots = args.root or [ROOT]
    if not args.callgrind:
        for root in roots:
            print(f"\n## {root}")
            profile_summary(url, loads, args.requests, root, args.top)
        return
    counted = {root: callgrind(url, loads, args.requests, root) for root in roots}
    print("| load | " + " | ".join(f"{r.name} instructions/request" for r in roots) + " |")
    print("|---|" + "---:|" * len(roots))
    for name, _, _ in loads:
        print(f"| {name} | " + " | ".join(f"{counted[r][name]:,.0f}" for r in roots) + " |")


if __name__ == "__main__":
    if __package__ in (None, ""):  # run by path (another checkout's code first): find bench beside it
        sys.path.append(str(ROOT))
    main()
