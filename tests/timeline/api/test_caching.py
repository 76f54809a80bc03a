"""Cheap polling: ETags, 304s that touch no database, cached bytes, Cache-Control, and CORS for reads."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import event

from tests.timeline.api.conftest import Client
from tests.timeline.api.support import AUTH, LiveBlog, assert_problem
from tests.timeline.store.drafts import T0, draft
from timeline.api import events
from timeline.api.caching import PageCache, SeqCache
from timeline.api.deps import Services
from timeline.api.page_query import NAMES, plain
from timeline.api.reads import cached_read
from timeline.settings import Settings
from timeline.store import PageOptions, Store

CACHE_CONTROL = "public, max-age=2, stale-while-revalidate=30"


class Clock:
    """The seq cache's clock, moved by hand: whether an entry is fresh never depends on test speed."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Litestar, client: Client) -> Clock:
    services: Services = app.state.services
    manual = Clock()
    services.seqs = SeqCache(services.store.timeline_seq, clock=manual)
    return manual


@pytest.fixture
def queries(app: Litestar, client: Client) -> Iterator[list[str]]:
    """Every SQL statement the app's store sends from now on (`_driver.fetch` included)."""
    store = app.state.services.store
    engines = [store._engine.sync_engine, store._sqlite_reads.engine]  # SQLite reads: an engine of their own
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    yield sent
    for engine in engines:
        event.remove(engine, "before_cursor_execute", count)


async def reads(client: Client, timeline: dict[str, Any]) -> list[str]:
    """One URL of every cached read of the timeline."""
    base = f"/api/v1/timelines/{timeline['id']}"
    event_id = (await client.get(f"{base}/events")).json()["events"][0]["id"]
    return [
        f"{base}/events",
        f"/api/v1/timelines/{timeline['slug']}/events?order=asc&limit=2",
        f"{base}/changes?since=1",
        f"{base}/events/{event_id}",
        f"{base}/events/{event_id}/revisions",
    ]


@pytest.mark.usefixtures("source", "clock")
async def test_a_304_touches_no_database(
    client: Client, timeline: dict[str, Any], queries: list[str]
) -> None:
    for url in await reads(client, timeline):
        first = await client.get(url)  # loads the seq cache entry: fresh for the next request
        queries.clear()

        again = await client.get(
            url, headers={"If-None-Match": first.headers["etag"], "Origin": "https://x.example"}
        )

        assert (first.status_code, again.status_code, again.content) == (200, 304, b""), url
        assert queries == [], url
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["cache-control"] == first.headers["cache-control"] == CACHE_CONTROL
        assert again.headers["access-control-allow-origin"] == "*"


@pytest.mark.usefixtures("source", "clock")
@pytest.mark.parametrize("accept", ["gzip", "br", "gzip, deflate, br, zstd", "identity"])
async def test_every_coding_revalidates_without_the_database(
    client: Client, timeline: dict[str, Any], queries: list[str], accept: str
) -> None:
    """A client holding a compressed page sends its own tag back: the front knows it without a query and
    names it in the 304."""
    for url in await reads(client, timeline):
        first = await client.get(url, headers={"Accept-Encoding": accept})
        queries.clear()

        again = await client.get(
            url, headers={"Accept-Encoding": accept, "If-None-Match": first.headers["etag"]}
        )

        assert (again.status_code, again.content, queries) == (304, b"", []), url
        assert again.headers["etag"] == first.headers["etag"], url
        assert "Accept-Encoding" in again.headers["vary"] and "Accept-Encoding" in first.headers["vary"], url


@pytest.mark.usefixtures("source", "clock")
async def test_serving_a_stored_page_never_changes_it(
    app: Litestar, client: Client, timeline: dict[str, Any]
) -> None:
    """Origins, HEADs and codings in turn on stored pages: every entry keeps its bytes and its headers, and
    each request gets what the same request got the first time."""
    urls = await reads(client, timeline)
    asked = [{}, {"Origin": "https://a.example"}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "br"}]
    first = {
        (url, i): await client.get(url, headers=headers) for url in urls for i, headers in enumerate(asked)
    }
    services: Services = app.state.services
    entries = list(services.pages._entries.values())
    kept = [(entry.body, tuple(entry.headers), dict(entry.codings)) for entry in entries]
    assert any(entry.codings for entry in entries), "the codings asked for are stored beside each page"

    for _ in range(2):
        for url in urls:
            for i, headers in enumerate(asked):
                await client.head(url, headers={**headers, "Origin": "https://b.example"})
                again = await client.get(url, headers=headers)
                assert again.content == first[url, i].content, (url, headers)
                assert again.headers.multi_items() == first[url, i].headers.multi_items(), (url, headers)

    assert [(entry.body, tuple(entry.headers), dict(entry.codings)) for entry in entries] == kept
    responses = [entry for entry in entries if entry.headers]  # not the pinned events' JSON kept for pages
    assert all(isinstance(entry.headers, tuple) for entry in responses), "stored headers cannot be edited"


@pytest.mark.usefixtures("source")
async def test_a_repeated_read_is_served_from_cached_bytes(
    client: Client, timeline: dict[str, Any], queries: list[str], clock: Clock
) -> None:
    for url in await reads(client, timeline):
        clock.now += 10  # the first read re-reads the seq, renders and stores
        first = await client.get(url)
        assert queries, "the listener sees the store's statements"
        queries.clear()

        again = await client.get(url)  # answered in front of the handler
        clock.now += 10
        stale = await client.get(url)  # the handler: one seq query, then the stored bytes

        assert again.status_code == stale.status_code == 200, url
        assert again.content == stale.content == first.content, url
        assert dict(again.headers) == dict(stale.headers) == dict(first.headers), url
        selects = [q for q in queries if q.startswith("SELECT")]
        assert len(selects) == 1 and "last_seq" in selects[0], url
        queries.clear()


PAGES = ("", "?limit=1", "?order=asc&limit=2", "?key_events=false&limit=5&order=desc")


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URL of every request the events handler itself answered."""
    urls: list[str] = []

    async def counted(request: Any, *args: Any, **kwargs: Any) -> Any:
        urls.append(str(request.url))
        return await cached_read(request, *args, **kwargs)

    monkeypatch.setattr(events, "cached_read", counted)
    return urls


@pytest.mark.usefixtures("source")
@pytest.mark.parametrize("query", PAGES)
async def test_the_front_renders_a_page_as_the_handler_does(
    app: Litestar,
    client: Client,
    timeline: dict[str, Any],
    queries: list[str],
    handled: list[str],
    clock: Clock,
    query: str,
) -> None:
    base = f"/api/v1/timelines/{timeline['slug']}/events"
    following = (await client.get(base + query)).json()["next"]
    urls = [base + query]
    if following:  # and the page after it
        urls.append(f"{base}{query}{'&' if query else '?'}after={following}")
    for url in urls:
        clock.now += 10
        await client.get(f"/api/v1/timelines/{timeline['slug']}/changes")  # a fresh seq entry
        app.state.services.pages = PageCache()
        queries.clear()
        handled.clear()
        early = await client.get(url)  # the entry is fresh, the page not cached: the front renders
        assert handled == [] and any("events.doc" in q for q in queries), url

        clock.now += 10
        app.state.services.pages = PageCache()
        late = await client.get(url)  # a stale entry: the handler re-reads the seq, then renders
        assert len(handled) == 1, url

        assert early.status_code == late.status_code == 200, url
        assert early.content == late.content, url
        assert dict(early.headers) == dict(late.headers), url
        for accept in ("gzip", "br"):  # the handler serves the stored page now, in each coding
            from_front = await client.get(url, headers={"Accept-Encoding": accept})
            clock.now += 10
            from_handler = await client.get(url, headers={"Accept-Encoding": accept})
            assert from_front.headers["content-encoding"] == accept, url
            assert from_front.content == from_handler.content == early.content, url
            assert dict(from_front.headers) == dict(from_handler.headers), url


@pytest.mark.usefixtures("source", "clock")
@pytest.mark.parametrize(
    ("query", "status", "parameter"),
    [
        ("?after=bogus", 400, "after"),
        ("?limit=201", 400, "limit"),
        ("?limit=0", 400, "limit"),
        ("?order=sideways", 400, "order"),
        ("?before=x&after=y", 400, "before"),
        ("?key_events=maybe", 400, "key_events"),
    ],
)
async def test_what_the_front_cannot_answer_the_handler_rejects(
    client: Client, timeline: dict[str, Any], query: str, status: int, parameter: str
) -> None:
    url = f"/api/v1/timelines/{timeline['id']}/events"
    await client.get(url)  # a fresh seq entry: the front sees every request below first

    response = await client.get(url + query)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert parameter in response.text


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("header", ["{tag}", "W/{tag}", '"other", {tag}', "*"])
async def test_if_none_match_forms(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], header: str
) -> None:
    url = f"/api/v1/timelines/{timeline['id']}/events"
    tag = (await client.get(url)).headers["etag"]

    response = await client.get(url, headers={"If-None-Match": header.format(tag=tag)})

    assert response.status_code == 304


@pytest.mark.usefixtures("source", "clock")
async def test_a_stale_or_foreign_tag_gets_the_page(client: Client, timeline: dict[str, Any]) -> None:
    url = f"/api/v1/timelines/{timeline['id']}/events"
    first = await client.get(url)

    other = await client.get(url, headers={"If-None-Match": '"1.tl_x.1.abc"'})

    assert other.status_code == 200 and other.content == first.content


@pytest.mark.usefixtures("source", "clock")
async def test_each_query_has_its_own_tag(client: Client, timeline: dict[str, Any]) -> None:
    url = f"/api/v1/timelines/{timeline['id']}/events"
    tags = {(await client.get(url, params=p)).headers["etag"] for p in ({}, {"order": "asc"}, {"limit": 2})}
    changes = (await client.get(f"/api/v1/timelines/{timeline['id']}/changes")).headers["etag"]

    assert len(tags | {changes}) == 4


@pytest.mark.usefixtures("clock")
async def test_a_write_through_the_api_changes_the_tag_at_once(
    client: Client, timeline: dict[str, Any], source: dict[str, Any], blog: LiveBlog
) -> None:
    url = f"/api/v1/timelines/{timeline['id']}/events"
    first = await client.get(url)
    blog.edit("b1", "Polls are now open")
    polled = await client.post(
        f"/api/v1/timelines/{timeline['id']}/sources/{source['id']}/poll", headers=AUTH
    )
    assert polled.json()["updated"] == 1

    after = await client.get(url, headers={"If-None-Match": first.headers["etag"]})

    assert after.status_code == 200
    assert after.headers["etag"] != first.headers["etag"]
    assert after.json()["last_seq"] > first.json()["last_seq"]
    assert "Polls are now open" in [e["body_text"] for e in after.json()["events"]]
    assert (await client.get(url, headers={"If-None-Match": after.headers["etag"]})).status_code == 304


async def test_writes_by_another_process_show_within_the_seq_cache_age(
    settings: Settings, client: Client, timeline: dict[str, Any], source: dict[str, Any], clock: Clock
) -> None:
    """A poller process writes to the database directly (a store of its own, which tells this app nothing);
    the API learns of it when its seq entry expires."""
    url = f"/api/v1/timelines/{timeline['id']}/events"
    first = await client.get(url)
    written = [draft(source["id"], "elsewhere", "From a worker")]
    async with await Store.open(settings.database_url) as elsewhere:
        await elsewhere.apply(source["id"], written, complete=False, now=T0)

    cached = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    clock.now += 1.5
    fresh = await client.get(url, headers={"If-None-Match": first.headers["etag"]})

    assert cached.status_code == 304
    assert fresh.status_code == 200
    assert "From a worker" in [e["body_text"] for e in fresh.json()["events"]]


@pytest.mark.usefixtures("source")
async def test_one_timeline_has_an_etag_too(client: Client, timeline: dict[str, Any]) -> None:
    url = f"/api/v1/timelines/{timeline['id']}"
    first = await client.get(url)

    again = await client.get(url, headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["cache-control"] == CACHE_CONTROL
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", first.headers["etag"])


async def test_cors_is_open_for_reads(client: Client, timeline: dict[str, Any]) -> None:
    origin = {"Origin": "https://publisher.example"}

    read = await client.get(f"/api/v1/timelines/{timeline['id']}/events", headers=origin)
    preflight = await client.options(
        f"/api/v1/timelines/{timeline['id']}/events",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )

    assert read.headers["access-control-allow-origin"] == "*"
    assert {"etag", "link"} <= {
        h.strip().lower() for h in read.headers["access-control-expose-headers"].split(",")
    }
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "GET" in preflight.headers["access-control-allow-methods"]


async def test_cors_does_not_open_writes(client: Client) -> None:
    preflight = await client.options(
        "/api/v1/timelines",
        headers={"Origin": "https://publisher.example", "Access-Control-Request-Method": "POST"},
    )

    assert "POST" not in preflight.headers.get("access-control-allow-methods", "")
    assert_problem(preflight, 403, "cors.refused", parameter="Access-Control-Request-Method")


@pytest.mark.usefixtures("source", "clock")
async def test_reads_naming_their_own_url_are_cached_per_origin(
    client: Client, timeline: dict[str, Any]
) -> None:
    url = f"/api/v1/timelines/{timeline['id']}/feed.json"
    first = await client.get(url, headers={"Host": "a.example"})
    second = await client.get(url, headers={"Host": "b.example"})  # the seq entry is fresh: the cache front

    assert first.json()["feed_url"].startswith("http://a.example/")
    assert second.json()["feed_url"].startswith("http://b.example/")
    assert first.headers["etag"] != second.headers["etag"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", {}),
        (b"order=asc&limit=200", {"order": "asc", "limit": 200}),
        (b"after=WzEs&key_events=true", {"after": "WzEs", "key_events": True}),
        (b"before=WzEs&limit=1", {"before": "WzEs", "limit": 1}),
        *((query, None) for query in (b"limit=0", b"limit=201", b"limit=-1", b"limit=1e2", b"limit=%32")),
        *((query, None) for query in (b"order=up", b"key_events=1", b"key_events=True", b"since=2024")),
        *((query, None) for query in (b"after=a&before=b", b"limit=1&limit=2", b"after=", b"x=1", b"a+b")),
    ],
)
def test_plain_page_queries_are_read_by_hand_and_the_rest_left_to_litestar(
    query: bytes, expected: PageOptions | None
) -> None:
    assert plain(query) == expected


def test_the_page_handler_takes_exactly_the_declared_page_query() -> None:
    """The front reads plain queries by the same declaration: a parameter added to one is added to both."""
    arguments = set(inspect.signature(events.EventController.list_events.fn).parameters)

    assert arguments - {"self", "request", "services", "timeline"} == NAMES
