"""The `timeline` command: the composition root, where settings, fetcher, adapters and store meet."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import sys
import tempfile
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
import orjson

from timeline.errors import StorageError, TimelineError
from timeline.keys import key_file, load_or_create_key, loose_mode, parse_api_keys

# Each command imports what it uses inside its function: `timeline --help` or `timeline poll` should not
# pay for Litestar, uvicorn, the store and alembic (over a second of CPU at every start).
if TYPE_CHECKING:
    import uvicorn
    from litestar import Litestar

    from feeds.fetch import FetchResult
    from timeline.models import EventDraft
    from timeline.poller.parsing import Parsed
    from timeline.settings import Settings

T = TypeVar("T")

EXIT_PARSE = 2
EXIT_FETCH = 3
KEYS_HINT = "a key from TIMELINE_API_KEYS"


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"timeline: {message}", err=True)
    sys.exit(code)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _local(location: str) -> FetchResult:
    """SOURCE that is a file or `-` (stdin), as if fetched: what the poll pipeline reads."""
    from feeds.fetch import FetchResult

    if location == "-":
        body, base_url = sys.stdin.buffer.read(), ""
    else:
        path = Path(location)
        if not path.is_file():
            _fail(f"{location}: no such file; SOURCE is a URL, a file path or - for stdin", EXIT_PARSE)
        body, base_url = path.read_bytes(), _canonical(location)
    return FetchResult(base_url, base_url, 200, body, None, None, None, None, None, False)


def _canonical(location: str) -> str:
    """SOURCE as it is recorded: URLs as given, files as absolute `file:` URIs."""
    if location == "-" or _is_url(location):
        return location
    return Path(location).resolve().as_uri()


def _local_source_id(location: str) -> str:
    """A stable source id for one-shot polls, so the same SOURCE always yields the same event ids."""
    return "src_local_" + hashlib.blake2b(location.encode(), digest_size=6).hexdigest()


@contextlib.contextmanager
def _exits(location: str) -> Iterator[None]:
    """A poll's errors as the command's exit codes and one line on stderr."""
    from feeds.errors import FetchError, ParseError
    from timeline.poller.parsing import ParserCrashedError

    try:
        yield
    except FetchError as exc:
        _fail(exc.message, EXIT_FETCH)
    except ParseError as exc:
        _fail(f"{location}: {exc.message}", EXIT_PARSE)
    except ParserCrashedError as exc:
        _fail(f"{location}: {exc.message}\n{exc.details}", 1)


async def _parsed(location: str, adapter: str, settings: Settings) -> Parsed:
    """SOURCE read as a poll reads it (robots.txt, then parsing in a worker process), without a store."""
    from timeline.wiring import reader

    source_id = _local_source_id(_canonical(location))
    async with reader(settings, workers=1) as read:
        with _exits(location):
            fetched = await read.fetch(location) if _is_url(location) else _local(location)
            return await read.parse(fetched, source_id=source_id, adapter=adapter, now=datetime.now(UTC))


def _summary(drafts: list[EventDraft], parsed: Parsed) -> str:
    keys = sum(d.key_event for d in drafts)
    pinned = sum(d.pinned for d in drafts)
    noun = "event" if len(drafts) == 1 else "events"
    return f"{len(drafts)} {noun} ({keys} key, {pinned} pinned) from {parsed.adapter}"


def _warn(parsed: Parsed) -> None:
    for warning in parsed.warnings:
        click.echo(f"warning: {warning}", err=True)


@click.group()
def main() -> None:
    """Turn live blogs into clean, ordered, live event timelines."""
    from pydantic import ValidationError

    from timeline.logs import configure_logging
    from timeline.settings import explain, get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        _fail(explain(exc), 1)
    configure_logging(settings)


class _AdapterChoice(click.Choice[str]):
    """A choice of `feeds.adapters.NAMES`, imported when click first reads the choices: importing every
    adapter is a quarter of a second that `timeline --help` has no use for."""

    def __init__(self) -> None:
        self.case_sensitive = True

    def __getattr__(self, name: str) -> Any:
        if name != "choices":
            raise AttributeError(name)
        from feeds.adapters import NAMES

        self.choices = NAMES
        return NAMES


adapter_option = click.option(
    "--adapter", type=_AdapterChoice(), default="auto", show_default=True, help="Source format."
)


@main.command()
@click.argument("source")
@adapter_option
def poll(source: str, adapter: str) -> None:
    """Fetch SOURCE once and print its updates as JSON lines, oldest first.

    SOURCE is a URL, a local file path, or - for standard input.
    """
    from timeline.settings import get_settings

    parsed = _run(_parsed(source, adapter, get_settings()))
    out = sys.stdout.buffer
    for draft in parsed.drafts:
        out.write(orjson.dumps(draft.model_dump(mode="json", exclude={"content_hash", "raw_hash"})) + b"\n")
    out.flush()
    _warn(parsed)
    click.echo(_summary(parsed.drafts, parsed), err=True)


@main.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the database schema (TIMELINE_DATABASE_URL)."""
    from timeline.settings import get_settings
    from timeline.store import migrate
    from timeline.store.engine import display_url

    url = get_settings().database_url
    _run(migrate(url))
    click.echo(f"database at {display_url(url)} is up to date", err=True)  # without its password


async def _ingest(location: str, timeline: str, adapter: str, settings: Settings) -> str:
    """One poll of SOURCE into the database, as the scheduler would poll it (a file or stdin is read
    instead of fetched); the poll's line on stderr says what it found and why it failed, if it did,
    unless TIMELINE_LOG_LEVEL says otherwise."""
    from timeline.store import Store
    from timeline.wiring import polling

    if settings.log_level is None:
        logging.getLogger("timeline.poller").setLevel(logging.INFO)
    fetched = None if _is_url(location) else _local(location)
    async with (
        await Store.open(settings.database_url, migrate=True) as store,
        polling(settings)(store) as pipeline,
    ):
        source = await store.ensure_source(timeline, _canonical(location), adapter)
        with _exits(location):
            result = await pipeline.poll_now(source.id, fetched=fetched)
    return f"new={result.new} updated={result.updated} deleted={result.deleted}"


@main.command()
@click.argument("source")
@click.option("--timeline", "timeline_slug", required=True, help="Slug of the timeline (created if missing).")
@adapter_option
def ingest(source: str, timeline_slug: str, adapter: str) -> None:
    """Poll SOURCE once into the database and print new/updated/deleted counts."""
    from timeline.settings import get_settings

    try:
        click.echo(_run(_ingest(source, timeline_slug, adapter, get_settings())))
    except TimelineError as exc:
        _fail(exc.message, 1)


def _api_keys(settings: Settings) -> tuple[Settings, str]:
    """Settings with an API key: the configured ones, or one made and kept beside the database; and where
    an editor finds the key to sign in to the console with. The key itself is printed only when it is
    made: on later starts it stays in its file, out of logs."""
    if settings.named_api_keys:
        return settings, KEYS_HINT
    path = key_file(settings.database_url)
    key, created = load_or_create_key(path)
    if created:
        click.echo(
            f"Created an API key for writes and saved it in {path} (mode 0600):\n\n    {key}\n", err=True
        )
        click.echo(f'Send it with writes: curl -H "Authorization: Bearer {key}" …', err=True)
    else:
        click.echo(f"Using the API key saved in {path}.", err=True)
        click.echo(f'Send it with writes: curl -H "Authorization: Bearer $(cat {path})" …', err=True)
        _warn_loose(path)
    try:
        parse_api_keys(key)
    except ValueError as exc:
        _fail(f"the key in {path} is not usable ({exc}); delete the file to make a new one", 1)
    hint = "the key above" if created else f"the key in {path}"
    return settings.model_copy(update={"api_keys": key}), hint


def _warn_loose(path: Path) -> None:
    mode = loose_mode(path)
    if mode is not None:
        click.echo(
            f"warning: {path} may be read by other users (mode {mode:04o}, looser than 0600); "
            f"run: chmod 600 {path}",
            err=True,
        )


def _run_server(
    settings: Settings,
    host: str | None,
    port: int | None,
    *,
    migrate: bool,
    poll: bool,
    key_hint: str = KEYS_HINT,
) -> None:
    from timeline.api import create_app
    from timeline.api.stream import tune_gc
    from timeline.hub.tapped import TappedHub
    from timeline.logs import configure_logging
    from timeline.metrics import Metrics
    from timeline.web import web_routes
    from timeline.web.admin import CONSOLE_PATH
    from timeline.wiring import make_hub, polling

    host, port = host or settings.host, port or settings.port
    metrics, hub = Metrics(), TappedHub(make_hub(settings))
    tune_gc()
    factory = polling(settings, metrics=metrics, poll=poll, hub=hub)
    app = create_app(settings, polling=factory, hub=hub, metrics=metrics, migrate=migrate, pages=web_routes())
    click.echo(
        f"Serving http://{host}:{port}/api/v1/timelines (API docs: http://{host}:{port}/schema)", err=True
    )
    click.echo(f"Console: http://{host}:{port}{CONSOLE_PATH} (sign in with {key_hint})", err=True)
    config = uvicorn_config(app, host, port)
    # Once uvicorn.Config has installed uvicorn's own log handlers, which this replaces with ours.
    configure_logging(settings, long_running=True)
    _run_uvicorn(config, app)


def uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """How `serve` and `api` run `app` (bench.api serves its bare ASGI ceiling the same way)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )


def _run_uvicorn(config: uvicorn.Config, app: Litestar) -> None:
    """uvicorn, ending open SSE streams as soon as shutdown begins: uvicorn waits for open connections
    before the app's own shutdown runs, and a stream never ends by itself."""
    import uvicorn

    server = uvicorn.Server(config)
    exit_handler = server.handle_exit

    def handle_exit(sig: int, frame: FrameType | None) -> None:
        services = getattr(app.state, "services", None)
        if services is not None:
            asyncio.get_event_loop().call_soon_threadsafe(services.fanout.end_streams)
        exit_handler(sig, frame)

    server.handle_exit = handle_exit  # type: ignore[method-assign]
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it already handled
        server.run()


host_option = click.option(
    "--host", default=None, help="Interface to listen on (TIMELINE_HOST, default 127.0.0.1)."
)
port_option = click.option("--port", type=int, default=None, help="Port (TIMELINE_PORT, default 8000).")


@main.command()
@host_option
@port_option
def serve(host: str | None, port: int | None) -> None:
    """Run the API and pollers over the embedded database, migrating it first: the one-command start."""
    from timeline.settings import get_settings

    settings, hint = _api_keys(get_settings())
    _run_server(settings, host, port, migrate=True, poll=True, key_hint=hint)


@main.command()
@host_option
@port_option
def api(host: str | None, port: int | None) -> None:
    """Run the API only, once the database is reachable and migrated (`timeline migrate`)."""
    from timeline.settings import get_settings
    from timeline.wiring import wait_for_database

    settings = get_settings()
    _run(_waiting(wait_for_database(settings, _say)))
    _run_server(settings, host, port, migrate=False, poll=False)


@main.command()
def worker() -> None:
    """Run pollers only: claim due sources and poll them until stopped (SIGINT/SIGTERM)."""
    from timeline.logs import configure_logging
    from timeline.settings import get_settings

    configure_logging(get_settings(), long_running=True)
    _run(_work(get_settings()))


def _say(line: str) -> None:
    click.echo(f"timeline: {line}", err=True)


async def _waiting(opening: Coroutine[Any, Any, T]) -> T:
    """`opening` (see `timeline.wiring.open_store`), or exit 1 when the database did not come up in time."""
    try:
        return await opening
    except StorageError as exc:
        _fail(exc.message, 1)


async def _work(settings: Settings) -> None:
    from timeline.hub.tapped import TappedHub
    from timeline.store.engine import display_url
    from timeline.wiring import make_hub, open_store, polling, publishing

    store = await _waiting(open_store(settings, _say))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    hub = TappedHub(make_hub(settings))
    click.echo(f"Polling sources in {display_url(settings.database_url)}; stop with Ctrl-C.", err=True)
    try:
        store.report_commits(publishing(hub))
        # Only the deliverer listens here: to this process's commits, and (postgres hub) to the others'.
        await hub.start(_unheard, _unheard_resync)
        async with store, polling(settings, poll=True, hub=hub)(store):
            await stop.wait()
    finally:
        await hub.close()
    click.echo("Stopped; leases released.", err=True)


def _unheard(timeline_id: str, seq: int) -> None:
    """A worker serves no readers: its hub's notifications are for its taps alone."""


def _unheard_resync() -> None:
    """As `_unheard`."""


@main.command()
@host_option
@port_option
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=4.0,
    show_default=True,
    help="Seconds between steps of the replayed live blog.",
)
def demo(host: str | None, port: int | None, interval: float) -> None:
    """Watch a timeline fill live: replay a bundled live blog from a local upstream into a fresh database.

    Everything runs in this process over SQLite in a temporary directory, removed on exit.
    """
    from timeline.settings import get_settings
    from timeline.web.demo import DemoUpstream, Replay, host_page, load_script

    script = load_script()
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    base = f"http://{host}:{port}"
    with tempfile.TemporaryDirectory(prefix="timeline-demo-") as workdir:
        database = Path(workdir) / "demo.db"
        settings = _demo_settings(settings, database)
        upstream = DemoUpstream(Replay(script, interval), host_page(base, "demo", script.title)).start()
        try:
            _run(_demo_timeline(settings, upstream.blog_url, script.title))
            click.echo(f"Demo database: {database} (removed on exit)", err=True)
            click.echo(f"\nWatch the timeline fill: {base}/embed/demo", err=True)
            click.echo(f"Embedded in a page of another origin: {upstream.origin}/\n", err=True)
            signal.signal(signal.SIGTERM, _stopped)
            _run_server(settings, host, port, migrate=False, poll=True)
        finally:
            upstream.close()


def _stopped(signum: int, frame: FrameType | None) -> NoReturn:
    """uvicorn re-raises the SIGTERM it shut down for: end by exception, so the demo's files are removed."""
    raise SystemExit(0)


def _demo_settings(settings: Settings, database: Path) -> Settings:
    """Polls as often as the scheduler looks (every second), and lets only the demo reach its upstream on
    127.0.0.1, which has no robots.txt."""
    return settings.model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{database}",
            "allow_private_sources": True,
            "respect_robots": False,
            "hub": "memory",
            "poll_interval": 0.5,
            "poll_min_interval": 0.5,
            "poll_max_interval": 0.5,
        }
    )


async def _demo_timeline(settings: Settings, url: str, title: str) -> None:
    from timeline.store import Store

    async with await Store.open(settings.database_url, migrate=True) as store:
        timeline = await store.create_timeline(title, slug="demo")
        await store.add_source(timeline.id, url, "guardian")
