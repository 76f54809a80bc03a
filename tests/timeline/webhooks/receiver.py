"""A webhook receiver for tests and benchmarks: `python -m tests.timeline.webhooks.receiver PORT_FILE`.

A real HTTP/1.1 server on 127.0.0.1 (keep-alive, as receivers are) that verifies every delivery with the
`standardwebhooks` library and records it. Each receiver path (`/hooks/NAME`) is set up by a `PUT
/control/NAME` of `{"secrets": [...], "script": [...]}`: a delivery that verifies with none of the
secrets is answered 401 and recorded unverified. `script` says how to answer the next deliveries, one
entry each, the last repeating: a status code (`200`, `500`, `410`…), `[status, seconds]` (answered that
late), `"hang"` (never answer), or `"reset"` (close the connection without answering).
`GET /received/NAME` lists what arrived, in order: `{id, type, seq, event, verified, started, ended,
status}` (`started`/`ended`: `time.time()`); `GET /answered` counts the 2xx answers of every path.

It writes the port it listens on to PORT_FILE once it accepts connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    def __init__(self) -> None:
        self.secrets: dict[str, list[str]] = {}
        self.scripts: dict[str, list[Any]] = {}
        self.received: dict[str, list[dict[str, Any]]] = {}

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, headers = _parse(head)
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if not await self._answer(method, path, headers, body, writer):
                    break
        writer.close()

    async def _answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the connection must close (a reset)."""
        kind, _, name = path.strip("/").partition("/")
        if method == "PUT" and kind == "control":
            setup = orjson.loads(body)
            self.secrets[name], self.scripts[name] = setup["secrets"], setup.get("script", [200])
            self.received.setdefault(name, [])
            await _respond(writer, 204, b"")
        elif method == "GET" and kind == "received":
            await _respond(writer, 200, orjson.dumps(self.received.get(name, [])))
        elif method == "GET" and kind == "answered":  # how many deliveries each path answered 2xx: cheap
            answered = {key: sum(r["status"] == 200 for r in got) for key, got in self.received.items()}
            await _respond(writer, 200, orjson.dumps(answered))
        elif method == "POST" and kind == "hooks" and name in self.secrets:
            return await self._delivery(name, headers, body, writer)
        else:
            await _respond(writer, 404, b"")
        return True

    async def _delivery(
        self, name: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        started = time.time()
        record: dict[str, Any] = {
            "id": headers.get("webhook-id"),
            "started": started,
            "verified": False,
            "status": None,
        }
        self.received[name].append(record)
        payload = self._verified(name, headers, body)
        if payload is not None:
            data = payload.get("data", {})
            record.update(verified=True, type=payload["type"], seq=data.get("seq"), event=data.get("event"))
        script = self.scripts[name]
        step = script.pop(0) if len(script) > 1 else script[0]
        if payload is None:
            step = 401
        if isinstance(step, list):
            step, delay = step
            await asyncio.sleep(delay)
        if step == "reset":
            record.update(ended=time.time(), status=None)
            writer.transport.abort()
            return False
        if step == "hang":
            await asyncio.sleep(3600)
        await _respond(writer, int(step), b"")
        record.update(ended=time.time(), status=int(step))
        return True

    def _verified(self, name: str, headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
        for secret in self.secrets[name]:
            try:
                payload: dict[str, Any] = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return payload
        return None


def _parse(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    return method, path, headers


async def _respond(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
    writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()


async def main(port_file: Path) -> None:
    server = await asyncio.start_server(Receiver().serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    port_file.write_text(str(port))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
