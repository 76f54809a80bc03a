"""One exit for writes: every write route of the API, run one by one, is seen by readers at once.

In process, with the seq cache's clock stopped (so only the write exit can move a cached ETag on) and a
hub that records what it is told: after each write's response, a reader holding the last ETag gets the
new state (200, not 304) and the hub has been told the new seq. The routes come from the OpenAPI
document, so a write route added without a case here fails the test. Then, through a real `timeline api`
process, SSE readers get every editorial change exactly once, in seq order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.timeline.api.conftest import Client
from tests.timeline.api.support import AUTH, LiveBlog, asgi_client, running
from tests.timeline.api.test_caching import Clock
from tests.timeline.live.processes import live_env, server
from tests.timeline.live.sse import listen
from tests.upstream import Upstream
from timeline.api import create_app
from timeline.api.caching import SeqCache
from timeline.api.deps import Services
from timeline.hub.memory import MemoryHub
from timeline.settings import Settings
from timeline.store import migrate
from timeline.web import web_routes
from timeline.wiring import polling

TIMELINE = "/api/v1/timelines/{timeline}"


class RecordingHub(MemoryHub):
    """The in-process hub, remembering each notification."""

    def __init__(self) -> None:
        super().__init__()
        self.told: list[tuple[str, int]] = []

    async def publish(self, timeline_id: str, seq: int) -> None:
        self.told.append((timeline_id, seq))
        await super().publish(timeline_id, seq)


@dataclass
class World:
    """A fresh timeline following its own blog, the app's client and hub, and a reader's cached ETag."""

    client: Client
    hub: RecordingHub
    upstream: Upstream
    timeline: dict[str, Any] = field(default_factory=dict)
    blog: LiveBlog = field(default_factory=LiveBlog)
    source_id: str = ""

    def path(self, tail: str = "") -> str:
        return f"/api/v1/timelines/{self.timeline['slug']}{tail}"

    async def create(self, *, attached: bool = True) -> None:
        created = await self.client.post("/api/v1/timelines", json={"title": "Exit"}, headers=AUTH)
        self.timeline = created.json()
        self.blog.post("b1", "First", minute=1)
        self.blog.post("b2", "Second", minute=2)
        route = f"/blog-{self.timeline['id']}"
        self.upstream.routes[route] = self.blog.route()
        if attached:
            added = await self.client.post(
                self.path("/sources"), json={"url": self.upstream.url(route)}, headers=AUTH
            )
            assert added.status_code == 201, added.text
            self.source_id = added.json()["id"]

    async def event_id(self, upstream_id: str) -> str:
        events = (await self.client.get(self.path("/events"))).json()["events"]
        found: str = next(e["id"] for e in events if e["upstream_id"] == upstream_id)
        return found

    async def primed(self) -> str:
        """The page's ETag, held by a reader whose revalidation the cache answers (304)."""
        tag: str = (await self.client.get(self.path("/events"))).headers["etag"]
        again = await self.client.get(self.path("/events"), headers={"If-None-Match": tag})
        assert again.status_code == 304
        return tag

    async def write(self, method: str, tail: str, body: dict[str, Any] | None = None) -> httpx.Response:
        response = await self.client.request(method, self.path(tail), json=body, headers=AUTH)
        assert response.is_success, response.text
        return response


Case = Callable[[World], Awaitable[None]]


async def _seen(world: World, tag: str, told_before: int) -> dict[str, Any]:
    """After a write: the reader holding `tag` gets a new page, and the hub was told its seq already."""
    fresh = await world.client.get(world.path("/events"), headers={"If-None-Match": tag})
    assert fresh.status_code == 200, "a cached ETag outlived the write"
    page: dict[str, Any] = fresh.json()
    assert (world.timeline["id"], page["last_seq"]) in world.hub.told[told_before:]
    return page


async def _rename(world: World) -> None:
    await world.create()
    tag, told = await world.primed(), len(world.hub.told)
    await world.write("PATCH", "", {"title": "Exit, renamed"})
    await _seen(world, tag, told)


async def _delete_timeline(world: World) -> None:
    await world.create()
    await world.primed()
    await world.write("DELETE", "")
    assert (await world.client.get(world.path("/events"))).status_code == 404  # not the cached page


async def _create_timeline(world: World) -> None:
    await world.create(attached=False)
    assert (await world.client.get(world.path("/events"))).json()["events"] == []


async def _attach(world: World) -> None:
    await world.create(attached=False)
    tag, told = await world.primed(), len(world.hub.told)
    route = f"/blog-{world.timeline['id']}"
    await world.write("POST", "/sources", {"url": world.upstream.url(route)})
    assert len((await _seen(world, tag, told))["events"]) == 2


async def _detach(world: World) -> None:
    await world.create()
    tag, told = await world.primed(), len(world.hub.told)
    await world.write("DELETE", f"/sources/{world.source_id}")
    assert (await _seen(world, tag, told))["events"] == []


async def _poll(world: World) -> None:
    await world.create()
    tag, told = await world.primed(), len(world.hub.told)
    world.blog.edit("b1", "First, corrected")
    await world.write("POST", f"/sources/{world.source_id}/poll")
    assert "First, corrected" in str(await _seen(world, tag, told))


async def _post(world: World) -> None:
    await world.create()
    tag, told = await world.primed(), len(world.hub.told)
    await world.write("POST", "/events", {"body_html": "<p>Ours</p>"})
    assert "Ours" in str(await _seen(world, tag, told))


async def _override(world: World) -> None:
    await world.create()
    tag, told = await world.primed(), len(world.hub.told)
    await world.write("PATCH", f"/events/{await world.event_id('b1')}", {"note": "Checked"})
    assert "Checked" in str(await _seen(world, tag, told))


async def _delete_event(world: World) -> None:
    await world.create()
    tag, told = await world.primed(), len(world.hub.told)
    await world.write("DELETE", f"/events/{await world.event_id('b1')}")
    assert [e["upstream_id"] for e in (await _seen(world, tag, told))["events"]] == ["b2"]


async def _unseen(world: World, write: Callable[[], Awaitable[httpx.Response]]) -> None:
    """A write that changes no event: readers keep their page, and the hub hears of nothing."""
    await world.create()
    tag, told = await world.primed(), len(world.hub.told)
    response = await write()
    assert response.is_success, response.text
    unchanged = await world.client.get(world.path("/events"), headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and world.hub.told[told:] == []


async def _preview(world: World) -> None:
    await _unseen(
        world, lambda: world.client.post("/api/v1/preview", json={"body_html": "<p>Draft</p>"}, headers=AUTH)
    )


def _webhook(method: str | None = None, tail: str = "", body: dict[str, Any] | None = None) -> Case:
    """A webhook created (and then, with `method`, changed): subscriptions are not the timeline's events."""

    async def case(world: World) -> None:
        async def write() -> httpx.Response:
            created = await world.write("POST", "/webhooks", {"url": "https://hooks.example/in"})
            if method is None:
                return created
            return await world.write(method, f"/webhooks/{created.json()['id']}{tail}", body)

        await _unseen(world, write)

    return case


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api/v1/timelines"): _create_timeline,
    ("PATCH", TIMELINE): _rename,
    ("DELETE", TIMELINE): _delete_timeline,
    ("POST", f"{TIMELINE}/sources"): _attach,
    ("DELETE", f"{TIMELINE}/sources/{{source_id}}"): _detach,
    ("POST", f"{TIMELINE}/sources/{{source_id}}/poll"): _poll,
    ("POST", f"{TIMELINE}/events"): _post,
    ("PATCH", f"{TIMELINE}/events/{{event_id}}"): _override,
    ("DELETE", f"{TIMELINE}/events/{{event_id}}"): _delete_event,
    ("POST", "/api/v1/preview"): _preview,
    ("POST", f"{TIMELINE}/webhooks"): _webhook(),
    ("PATCH", f"{TIMELINE}/webhooks/{{webhook_id}}"): _webhook("PATCH", "", {"key_events_only": True}),
    ("DELETE", f"{TIMELINE}/webhooks/{{webhook_id}}"): _webhook("DELETE"),
    ("POST", f"{TIMELINE}/webhooks/{{webhook_id}}/rotate-secret"): _webhook("POST", "/rotate-secret"),
    ("POST", f"{TIMELINE}/webhooks/{{webhook_id}}/test"): _webhook("POST", "/test"),
}


@pytest.fixture
def hub() -> RecordingHub:
    return RecordingHub()


@pytest.fixture
def app(settings: Settings, hub: RecordingHub) -> Litestar:
    return create_app(settings, polling=polling(settings), hub=hub, migrate=True, pages=web_routes())


@pytest.fixture
async def stopped_client(app: Litestar) -> AsyncIterator[Client]:
    """The app's client, its seq cache's clock stopped: no entry ever expires on its own."""
    async with running(app), asgi_client(app) as opened:
        services: Services = app.state.services
        services.seqs = SeqCache(services.store.timeline_seq, clock=Clock())
        yield opened


async def test_every_write_route_is_seen_by_readers_at_once(
    stopped_client: Client, hub: RecordingHub, upstream: Upstream
) -> None:
    document = (await stopped_client.get("/schema/openapi.json")).json()
    writes = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method.upper() not in ("GET", "HEAD", "OPTIONS")
    }
    assert writes == set(CASES), "every write route needs a case here"
    for (method, path), case in CASES.items():
        try:
            await case(World(stopped_client, hub, upstream))
        except AssertionError as failed:
            raise AssertionError(f"{method} {path}: {failed}") from failed


async def test_sse_readers_get_every_editorial_change_exactly_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'timeline.db'}"
    await migrate(url)
    blog = LiveBlog()
    blog.post("b1", "First", minute=1)
    blog.post("b2", "Second", minute=2)
    async with (
        Upstream(routes={"/blog": blog.route()}) as upstream,
        server("api", live_env(url), tmp_path / "api.log") as api,
        httpx.AsyncClient(base_url=api.url, headers=AUTH) as http,
    ):
        timeline = (await http.post("/api/v1/timelines", json={"title": "Exit"})).json()
        base = f"/api/v1/timelines/{timeline['id']}"
        assert (await http.post(f"{base}/sources", json={"url": upstream.url("/blog")})).status_code == 201
        page = (await http.get(f"{base}/events")).json()
        b1 = next(e["id"] for e in page["events"] if e["upstream_id"] == "b1")
        async with (
            listen(api.url, timeline["id"], since=page["last_seq"]) as first,
            listen(api.url, timeline["id"], since=page["last_seq"]) as second,
        ):
            expected = await _editorial_changes(http, base, b1)
            for stream in (first, second):
                await stream.until_count(len(expected))
            await asyncio.sleep(1.5)  # past the fan-out's own re-check: nothing more may come
            for stream in (first, second):
                assert [(m.seq, m.event, m.json()["id"]) for m in stream.messages] == expected


async def _editorial_changes(http: httpx.AsyncClient, base: str, b1: str) -> list[tuple[int, str, str]]:
    """Post, edit and delete a post; note, hide, unhide and delete an ingested event; a change that changes
    nothing. Each change's (seq, SSE event, id), in order."""
    changes: list[tuple[int, str, str]] = []

    async def seen(response: httpx.Response, kind: str, event_id: str) -> None:
        assert response.is_success, response.text
        keyed = (await http.get(f"{base}/events/{event_id}")).json()
        changes.append((keyed["seq"], kind, event_id))

    post = (await http.post(f"{base}/events", json={"body_html": "<p>Ours</p>"})).json()
    changes.append((post["seq"], "upsert", post["id"]))
    await seen(
        await http.patch(f"{base}/events/{post['id']}", json={"body_html": "<p>Ours, edited</p>"}),
        "upsert",
        post["id"],
    )
    await seen(await http.patch(f"{base}/events/{b1}", json={"note": "Checked"}), "upsert", b1)
    await seen(await http.patch(f"{base}/events/{b1}", json={"hidden": True}), "delete", b1)
    assert (await http.patch(f"{base}/events/{b1}", json={"hidden": True})).is_success  # no change
    await seen(await http.patch(f"{base}/events/{b1}", json={"hidden": False}), "upsert", b1)
    await seen(await http.delete(f"{base}/events/{post['id']}"), "delete", post["id"])
    await seen(await http.delete(f"{base}/events/{b1}"), "delete", b1)
    return changes
