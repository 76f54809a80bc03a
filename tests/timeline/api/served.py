"""A real `timeline api` process over a database holding a real live blog, and raw HTTP/1.1 to it.

Raw because these tests are about the wire: a HEAD must send no body at all, headers must not repeat,
and a compressed body must arrive as the bytes the server wrote. An HTTP client library would hide all
three (it decodes content codings, merges headers, and knows HEAD has no body).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.timeline.api.support import GUARDIAN, KEY, environment
from tests.upstream import closed_port

STARTUP_ATTEMPTS = 600  # × 50 ms: generous, a slow machine must not fail this
TIMELINE = [sys.executable, "-m", "timeline"]
TIMEOUT = 10.0


@dataclass(frozen=True)
class Seeded:
    """`timeline api` on 127.0.0.1 with the Guardian fixture as the timeline `clockwatch`."""

    url: str
    port: int
    timeline: str
    timeline_id: str
    source_id: str
    event_id: str
    cursor: str  # a `next` cursor of the timeline's first page: one the server issued


def _start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = closed_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*TIMELINE, "api", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        for _ in range(STARTUP_ATTEMPTS):
            assert process.poll() is None, log.read_text()
            try:
                if http.get("/healthz").status_code == 200:
                    return process, port
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    process.kill()
    process.wait()
    raise AssertionError(f"`timeline api` never answered /healthz:\n{log.read_text()}")


@contextmanager
def seeded_api(workdir: Path, fixtures: Path) -> Iterator[Seeded]:
    """Ingest the Guardian fixture with `timeline ingest`, then serve it; stopped cleanly on the way out."""
    env = environment(workdir / "seeded.db", TIMELINE_API_KEYS=KEY)
    ingest = [*TIMELINE, "ingest", str(fixtures / GUARDIAN), "--timeline", "clockwatch"]
    ingested = subprocess.run(ingest, env=env, capture_output=True, check=False)
    assert ingested.returncode == 0, ingested.stderr
    log = workdir / "api.log"
    process, port = _start(env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url) as http:
            found = http.get("/api/v1/timelines/clockwatch").json()
            page = http.get("/api/v1/timelines/clockwatch/events", params={"limit": 1}).json()
        yield Seeded(
            url,
            port,
            "clockwatch",
            found["id"],
            found["sources"][0]["id"],
            page["events"][0]["id"],
            page["next"],
        )
    finally:
        process.terminate()
        returncode = process.wait()
    output = log.read_text()
    assert returncode in (0, -signal.SIGTERM) and "Traceback" not in output, output


@dataclass(frozen=True)
class Raw:
    """One response as it came off the socket: header names lower-cased, in order, repeats kept."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    def listed(self, name: str) -> set[str]:
        """A list-valued header (`Vary`, `Allow`…) as a set of its items, every line of it."""
        return {item.strip() for value in self.all(name) for item in value.split(",") if item.strip()}

    def without(self, *names: str) -> tuple[tuple[str, str], ...]:
        """The headers less `names` (and `date`, which changes every second)."""
        dropped = {"date", *names}
        return tuple((key, value) for key, value in self.headers if key not in dropped)


def raw(
    port: int, method: str, target: str, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> Raw:
    """`method target` over a fresh connection (`Connection: close`); reads to the end of the stream."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    return _parse(bytes(received))


def raw_head_of(port: int, method: str, target: str, headers: Mapping[str, str] | None = None) -> Raw:
    """The status and headers of a response that may never end (a stream), and what body came with them
    within a short wait."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        received = bytearray()
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, "the connection closed before the response head"
            received += chunk
        sock.settimeout(0.5)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return _parse(bytes(received))


def _parse(received: bytes) -> Raw:
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = tuple(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in header_lines)
    )
    return Raw(int(status_line.split(" ")[1]), headers, body)
