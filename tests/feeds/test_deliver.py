"""`feeds.deliver.Sender` against a real local receiver: what a POST carries, and what is read back."""

from __future__ import annotations

import asyncio
import base64

import pytest

from feeds.deliver import Sender
from feeds.errors import RefusedAddressError
from feeds.fetch import FetchPolicy
from tests.upstream import Request, Route, Upstream, redirect, respond

LOCAL = FetchPolicy(allow_private=True, max_bytes=1024)
BODY = b'{"type": "ping", "data": {"timeline": "tl_1"}}'


def _received(into: list[tuple[Request, bytes]], status: str = "204 No Content", **headers: str) -> Route:
    async def route(request: Request, writer: asyncio.StreamWriter) -> None:
        assert request.reader is not None
        into.append((request, await request.reader.readexactly(int(request.headers["content-length"]))))
        await respond(status, headers)(request, writer)

    return route


async def test_a_post_carries_the_body_its_headers_and_the_urls_credentials_as_basic_auth() -> None:
    got: list[tuple[Request, bytes]] = []
    async with Upstream(routes={"/hook": _received(got)}) as receiver, Sender(LOCAL) as sender:
        url = receiver.url("/hook").replace("http://", "http://desk%40news:p%3Ass@")
        answer = await sender.post(url, BODY, {"webhook-id": "msg_1"})
    assert (answer.status, answer.ok, answer.retry_after) == (204, True, None)
    [(request, body)] = got
    assert body == BODY
    headers = request.headers
    assert headers["host"] == receiver.url("/").removeprefix("http://").rstrip("/")
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"] == "msg_1"
    assert headers["user-agent"].startswith("liveblog-timeline/")
    assert headers["authorization"] == "Basic " + base64.b64encode(b"desk@news:p:ss").decode()


async def test_an_answer_is_taken_as_it_is_a_redirect_unfollowed_and_retry_after_read() -> None:
    routes = {
        "/moved": redirect("307 Temporary Redirect", "/elsewhere"),
        "/busy": respond("503 Service Unavailable", {"Retry-After": "7"}),
        "/chatty": respond("200 OK", body=b"x" * 100_000),
    }
    async with Upstream(routes=routes) as receiver, Sender(LOCAL) as sender:
        moved = await sender.post(receiver.url("/moved"), BODY, {})
        busy = await sender.post(receiver.url("/busy"), BODY, {})
        chatty = await sender.post(receiver.url("/chatty"), BODY, {})
    assert (moved.status, moved.ok) == (307, False)
    assert [r.path for r in receiver.requests] == ["/moved", "/busy", "/chatty"]  # nothing followed
    assert (busy.status, busy.retry_after) == (503, 7.0)
    assert chatty.ok  # read only up to the cap, and still an answer


async def test_private_receivers_are_refused_unless_allowed() -> None:
    async with Upstream(routes={"/hook": respond("200 OK")}) as receiver, Sender(FetchPolicy()) as sender:
        with pytest.raises(RefusedAddressError, match="loopback"):
            await sender.post(receiver.url("/hook"), BODY, {})
    assert receiver.requests == []
