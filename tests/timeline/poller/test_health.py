"""Hostile and failing upstreams: health per source, backoff, Retry-After, gone sources, faults as values."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from feeds.fetch import FetchPolicy
from tests.timeline.poller.conftest import LOCAL, SCHEDULE, Rig, poller_settings
from tests.upstream import (
    GuardianBlog,
    Route,
    Upstream,
    delayed,
    drip,
    hang,
    redirect,
    reset,
    respond,
    script,
    snapshot,
)
from timeline.poller.scheduler import PollerSettings

EXACT = replace(SCHEDULE, jitter=0.0)  # delays exactly as the schedule says
STEP = 5.0  # fake seconds between ticks; every delay below is a multiple of it
LATENCY = 0.05  # seconds a slow upstream answer takes


@pytest.fixture
def settings() -> PollerSettings:
    return poller_settings(EXACT)


@pytest.fixture
def policy() -> FetchPolicy:
    return replace(LOCAL, total_timeout=0.3)  # hangs and drips time out quickly


@pytest.fixture
def blog() -> GuardianBlog:
    live = GuardianBlog()
    live.post("b1", "Polls open", minute=0)
    return live


async def request_times(
    rig: Rig, path: str | None, *, until: float, origin: datetime | None = None
) -> list[float]:
    """Tick every `STEP` fake seconds for `until` seconds: when `path` (any path when None) was requested,
    in fake seconds since `origin` (default: now)."""
    origin, times = origin or rig.clock(), []
    for _ in range(int(until / STEP)):
        before = len(rig.upstream.served(path))
        await rig.poll(after=STEP)
        offset = (rig.clock() - origin).total_seconds()
        times += [offset] * (len(rig.upstream.served(path)) - before)
    return times


async def test_a_failing_source_backs_off_exponentially_and_shows_it(rig: Rig, blog: GuardianBlog) -> None:
    failing = [respond("500 Internal Server Error", body=b"oops")] * 5
    source = await rig.add("/blog", script(*failing, snapshot(blog.render)), "guardian")
    start = rig.clock()
    await rig.poll()

    health = (await rig.source("/blog")).health
    assert (health.status, health.consecutive_failures, health.next_poll_at) == (
        "failing",
        1,
        start + timedelta(seconds=EXACT.base_interval),
    )
    assert health.last_error is not None and health.last_error.kind == "fetch.http_status"
    assert "answered 500" in health.last_error.message and health.last_error.at == start
    assert [s.id for s in await rig.store.list_sources(status="failing")] == [source.id]

    times = await request_times(rig, "/blog", until=950)

    # 30 s, then doubling: four more failures, then the success, and not one request more.
    assert times == [30.0, 90.0, 210.0, 450.0, 930.0]
    assert rig.upstream.statuses("/blog") == [500] * 5 + [200]
    health = (await rig.source("/blog")).health
    assert (health.status, health.consecutive_failures) == ("ok", 0)
    assert health.last_error is not None and health.last_error.kind == "fetch.http_status"  # kept for history
    assert await rig.store.list_sources(status="failing") == []
    assert await rig.texts() == {"b1": "Polls open"}


@pytest.mark.parametrize("status", ["429 Too Many Requests", "503 Service Unavailable"])
async def test_retry_after_holds_off_the_whole_host(rig: Rig, blog: GuardianBlog, status: str) -> None:
    start = rig.clock()
    await rig.add("/a", script(respond(status, {"Retry-After": "120"}), snapshot(blog.render)), "guardian")
    await rig.poll()
    health = (await rig.source("/a")).health
    assert (health.status, health.next_poll_at) == ("backing-off", start + timedelta(seconds=120))
    assert health.last_error is not None and health.last_error.kind == "fetch.http_status"

    # Sources of that host due meanwhile are put off until then, without a request; other hosts are not.
    async with Upstream() as elsewhere:
        for path in ("/b", "/c"):
            await rig.add(path, snapshot(blog.render), "guardian")
        await rig.add("/other", snapshot(blog.render), "guardian", upstream=elsewhere)
        await rig.poll(after=STEP)
        assert elsewhere.statuses("/other") == [200]
    for path in ("/b", "/c"):
        health = (await rig.source(path)).health
        assert (health.status, health.next_poll_at) == ("new", start + timedelta(seconds=120))

    times = await request_times(rig, None, until=140, origin=start)

    assert times == [120.0] * 3  # nothing reached the host before Retry-After, then the three sources
    assert sorted((e.request.path, e.status) for e in rig.upstream.served()[1:]) == [
        ("/a", 200),
        ("/b", 200),
        ("/c", 200),
    ]
    assert (await rig.source("/a")).health.status == "ok"


@pytest.mark.parametrize("settings", [poller_settings(EXACT, per_host=1)])
async def test_polls_queued_for_the_host_do_not_go_ahead_after_its_retry_after(
    rig: Rig, blog: GuardianBlog
) -> None:
    """One request at a time to the host: the first answers 429, so the two waiting behind it must not go."""
    await rig.add(
        "/a", delayed(respond("429 Too Many Requests", {"Retry-After": "120"}), LATENCY), "guardian"
    )
    polled_at = rig.clock.advance(1)  # the others are due a second later, so /a is polled first
    for path in ("/b", "/c"):
        await rig.add(path, snapshot(blog.render), "guardian")

    assert await rig.poll() == 3

    assert [(e.request.path, e.status) for e in rig.upstream.served()] == [("/a", 429)]
    for path in ("/b", "/c"):
        health = (await rig.source(path)).health
        assert (health.status, health.next_poll_at) == ("new", polled_at + timedelta(seconds=120))


@pytest.mark.parametrize("retry_after", ["99999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"])
async def test_an_absurd_retry_after_is_capped(rig: Rig, blog: GuardianBlog, retry_after: str) -> None:
    start, cap = rig.clock(), timedelta(seconds=EXACT.retry_after_cap)
    await rig.add("/a", respond("429 Too Many Requests", {"Retry-After": retry_after}), "guardian")
    await rig.poll()
    await rig.add("/b", snapshot(blog.render), "guardian")
    await rig.poll(after=STEP)

    state = await rig.store.get_poll_state(rig.sources["/a"].id)
    assert (state.status, state.next_poll_at, state.lease_owner) == ("backing-off", start + cap, None)
    assert (await rig.source("/b")).health.next_poll_at == start + cap  # the host waits as long
    assert len(rig.upstream.served()) == 1


async def test_404_then_410_marks_the_source_gone_and_it_is_never_requested_again(
    rig: Rig, blog: GuardianBlog
) -> None:
    """Default `gone_after=3`: the 404 starts the streak; a 410 is deliberate, so it confirms it a poll
    early (404 and 410 both count as missing)."""
    missing = script(respond("404 Not Found"), respond("410 Gone"), snapshot(blog.render))
    source = await rig.add("/blog", missing, "guardian")
    await rig.poll()

    times = await request_times(rig, "/blog", until=600)  # were it not gone: again at 90

    assert times == [30.0]  # the second answer came after 30 s; then nothing
    assert rig.upstream.statuses("/blog") == [404, 410]
    health = (await rig.source("/blog")).health
    assert (health.status, health.next_poll_at, health.consecutive_failures) == ("gone", None, 2)
    assert [s.id for s in await rig.store.list_sources(status="gone")] == [source.id]


HTML_PAGE = (
    b"<!doctype html><html><head><title>Down for maintenance</title></head><body>Back soon</body></html>"
)
FAULTS: dict[str, tuple[Route, str]] = {
    "server error": (respond("500 Internal Server Error"), "fetch.http_status"),
    "forbidden": (respond("403 Forbidden"), "fetch.http_status"),
    "timeout": (hang(), "fetch.timeout"),
    "slow drip": (drip(b'{"response": {}}', every=0.1), "fetch.timeout"),
    "connection reset": (reset(), "fetch"),
    "redirect loop": (redirect("302 Found", "/fault"), "fetch.too_many_redirects"),
    "html instead of the feed": (
        respond("200 OK", {"Content-Type": "text/html"}, HTML_PAGE),
        "parse.invalid",
    ),
    "binary junk": (
        respond("200 OK", {"Content-Type": "application/octet-stream"}, b"\x00\x01\x02"),
        "parse.format_not_detected",
    ),
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_fails_only_its_own_source(rig: Rig, blog: GuardianBlog, fault: str) -> None:
    route, kind = FAULTS[fault]
    await rig.add("/fault", route)
    await rig.add("/healthy", snapshot(blog.render), "guardian")

    assert await rig.poll() == 2

    health = (await rig.source("/fault")).health
    assert (health.status, health.consecutive_failures) == ("failing", 1)
    assert health.last_error is not None and health.last_error.kind == kind, health.last_error
    assert health.last_error.message
    assert (await rig.source("/healthy")).health.status == "ok"
    assert await rig.texts() == {"b1": "Polls open"}
    assert (await rig.store.get_poll_state(rig.sources["/fault"].id)).lease_owner is None


async def test_a_feed_served_with_the_wrong_content_type_is_still_read(rig: Rig, blog: GuardianBlog) -> None:
    await rig.add("/blog", snapshot(blog.render, "text/html; charset=utf-8"))
    await rig.poll()
    assert (await rig.source("/blog")).health.status == "ok"
    assert await rig.texts() == {"b1": "Polls open"}


async def test_a_permanent_redirect_moves_the_source_and_a_temporary_one_does_not(
    rig: Rig, blog: GuardianBlog
) -> None:
    rig.upstream.routes["/new"] = snapshot(blog.render)
    await rig.add("/moved", redirect("301 Moved Permanently", "/new"), "guardian")
    await rig.add("/away", redirect("302 Found", "/new"), "guardian")
    await rig.poll()

    assert (await rig.source("/moved")).url == rig.upstream.url("/new")
    assert (await rig.source("/away")).url == rig.upstream.url("/away")
    await rig.poll_next()
    await rig.poll_next()

    assert [e.request.path for e in rig.upstream.served()].count("/moved") == 1  # never asked again
    assert len(rig.upstream.served("/away")) > 1
    assert (await rig.source("/moved")).health.status == "ok"
    changes = await rig.store.changes(rig.timeline.id, since=0)
    assert sorted(c.event.source_id for c in changes) == sorted(
        rig.sources[p].id for p in ("/moved", "/away")
    )


async def test_a_permanent_redirect_onto_a_sibling_source_still_saves_the_poll(
    rig: Rig, blog: GuardianBlog
) -> None:
    await rig.add("/new", snapshot(blog.render), "guardian")
    await rig.add("/old", redirect("301 Moved Permanently", "/new"), "guardian")
    await rig.poll()

    state = await rig.store.get_poll_state(rig.sources["/old"].id)
    assert state.lease_owner is None
    assert state.status != "new"
