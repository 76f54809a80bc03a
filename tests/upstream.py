"""A real HTTP/1.1 upstream on a loopback address for tests: scripted raw responses per path."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # names lower-cased


Route = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


class Upstream:
    """A tiny HTTP/1.1 server: each route writes a raw response, then the connection closes."""

    def __init__(self, host: str = "127.0.0.1", routes: dict[str, Route] | None = None) -> None:
        self.host = host
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Request] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Upstream:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port: int = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            request = _parse(await reader.readuntil(b"\r\n\r\n"))
            self.requests.append(request)
            await self.routes.get(request.path, _not_found)(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up, as the fetcher does when it stops reading
        finally:
            writer.close()
            await closed(writer)
            self._tasks.discard(task)


async def closed(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


def _parse(head: bytes) -> Request:
    request_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines if line)
    return Request(request_line.split()[1], {name.lower(): value for name, value in headers.items()})


def head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(status: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Route:
    async def route(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(head(status, {**(headers or {}), "Content-Length": str(len(body))}) + body)
        await writer.drain()

    return route


def redirect(status: str, location: str) -> Route:
    return respond(status, {"Location": location})


async def _not_found(request: Request, writer: asyncio.StreamWriter) -> None:
    await respond("404 Not Found", body=b"no such page")(request, writer)


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
