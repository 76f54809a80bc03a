"""robots.txt as the poller obeys it: checked before each poll, read once per host and day (RFC 9309)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.timeline.poller.conftest import Rig
from tests.upstream import GuardianBlog, delayed, respond, script, snapshot
from timeline.poller.robots import TTL

RULES = b"User-agent: *\nDisallow: /private\n"
TTL_DELTA = timedelta(seconds=TTL)


@pytest.fixture
def respect_robots() -> bool:
    return True


@pytest.fixture
def blog() -> GuardianBlog:
    live = GuardianBlog()
    live.post("b1", "Polls open", minute=0)
    return live


async def test_a_disallowed_source_fails_without_a_request(rig: Rig, blog: GuardianBlog) -> None:
    rig.upstream.routes["/robots.txt"] = respond("200 OK", {"Content-Type": "text/plain"}, RULES)
    await rig.add("/public", snapshot(blog.render), "guardian")
    await rig.poll()
    await rig.add("/private", snapshot(blog.render), "guardian")
    await rig.poll()

    health = (await rig.source("/private")).health
    assert health.status == "failing"
    assert health.last_error is not None and health.last_error.kind == "fetch.robots_disallowed"
    assert "TIMELINE_RESPECT_ROBOTS" in health.last_error.message
    assert rig.upstream.served("/private") == []
    assert (await rig.source("/public")).health.status == "ok"


async def test_robots_txt_is_read_once_a_day(rig: Rig, blog: GuardianBlog) -> None:
    rig.upstream.routes["/robots.txt"] = respond("404 Not Found")  # no rules: all allowed
    await rig.add("/blog", snapshot(blog.render), "guardian")

    await rig.poll()
    while rig.clock() - rig.sources["/blog"].created_at < TTL_DELTA:
        await rig.poll_next()
    await rig.poll_next()

    polls = len(rig.upstream.served("/blog"))
    assert polls > 10
    assert len(rig.upstream.served("/robots.txt")) == 2  # the first poll, and again a day later


async def test_an_unreadable_robots_txt_disallows_until_it_can_be_read(rig: Rig, blog: GuardianBlog) -> None:
    rig.upstream.routes["/robots.txt"] = script(
        respond("500 Internal Server Error"), respond("404 Not Found")
    )
    await rig.add("/blog", snapshot(blog.render), "guardian")

    await rig.poll()
    health = (await rig.source("/blog")).health
    assert health.status == "failing" and rig.upstream.served("/blog") == []
    assert health.last_error is not None and "robots.txt" in health.last_error.message

    await rig.poll_next()
    assert (await rig.source("/blog")).health.status == "ok"
    assert rig.upstream.statuses("/robots.txt") == [500, 404]
    assert await rig.texts() == {"b1": "Polls open"}


async def test_first_polls_of_a_new_host_share_one_robots_txt_request(rig: Rig) -> None:
    # A slow robots.txt, so both polls the per-host limit lets through ask for it before it arrives.
    rig.upstream.routes["/robots.txt"] = delayed(respond("200 OK", {}, RULES), 0.2)
    blogs = {f"/b{n}": GuardianBlog(f"Blog {n}") for n in range(4)}
    for path, blog in blogs.items():
        blog.post(f"{path}-1", f"{path} opens", minute=0)
        await rig.add(path, snapshot(blog.render), "guardian")

    assert await rig.poll() == 4

    assert len(rig.upstream.served("/robots.txt")) == 1
    assert [(await rig.source(path)).health.status for path in blogs] == ["ok"] * 4


@pytest.mark.parametrize(
    ("rules", "path", "allowed"),
    [
        (b"User-agent: *\nDisallow: /\nAllow: /live/\n", "/live/x", True),  # the longest match wins
        (b"User-agent: *\nDisallow: /\nAllow: /live/\n", "/other", False),
        (b"User-agent: *\nDisallow: /*.json$\n", "/api/blog.json", False),  # `*` and `$` are patterns
        (b"User-agent: *\nDisallow: /*.json$\n", "/api/blog.json?page=2", True),
        (b"User-agent: liveblog-timeline\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "/live/x", False),
    ],
)
async def test_rules_are_read_as_rfc_9309_says(
    rig: Rig, blog: GuardianBlog, rules: bytes, path: str, allowed: bool
) -> None:
    rig.upstream.routes["/robots.txt"] = respond("200 OK", {"Content-Type": "text/plain"}, rules)
    rig.upstream.routes[path] = snapshot(blog.render)
    source = await rig.store.add_source(rig.timeline.id, rig.upstream.url(path), "guardian", now=rig.clock())
    await rig.poll()

    health = (await rig.store.get_source(source.id)).health
    assert (health.status == "ok") is allowed, health
