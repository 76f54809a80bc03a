"""What a real `timeline api` process answers to bodies and headers it cannot take, read off the socket:
deep and oversized bodies, control characters in titles and slugs, a `Host` that names no host. Every
error the app answers is a problem (`application/problem+json`), a WebSocket handshake's included."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.timeline.api.processes import Served, api_process
from tests.timeline.api.served import TIMEOUT, Raw, raw
from tests.timeline.api.support import KEY, PROBLEM, PROBLEM_BASE
from timeline.api.bodies import MAX_BODY_BYTES, MAX_DEPTH

WRITE = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
TIMELINES = "/api/v1/timelines"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with api_process(tmp_path_factory.mktemp("requests")) as running:
        created = raw(running.port, "POST", TIMELINES, WRITE, b'{"title": "Existing", "slug": "existing"}')
        assert created.status == 201
        yield running
    assert "Traceback" not in running.log, running.log


def _problem(response: Raw, status: int, kind: str) -> dict[str, Any]:
    assert response.status == status, response.body
    assert response.header("content-type") == PROBLEM
    found: dict[str, Any] = orjson.loads(response.body)
    assert (found["type"], found["status"]) == (PROBLEM_BASE + kind, status)
    return found


def _create(served: Served, body: bytes | dict[str, Any]) -> Raw:
    return raw(served.port, "POST", TIMELINES, WRITE, body if isinstance(body, bytes) else orjson.dumps(body))


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 3000 + b"]" * 3000,  # the interpreter's stack gave out on these (500)
        b'{"title": "x", "extra": ' + b"[" * 2000 + b"]" * 2000 + b"}",
        b'{"title": ' + b'{"a": ' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1) + b"}",
    ],
)
def test_a_deeply_nested_body_is_a_bad_request(served: Served, body: bytes) -> None:
    problem = _problem(_create(served, body), 400, "invalid_request")
    assert problem["parameter"] == "body" and f"more than {MAX_DEPTH} levels" in problem["detail"]


def test_brackets_inside_strings_are_text(served: Served) -> None:
    title = "[[[{{{" * 20
    created = _create(served, {"title": title})
    assert created.status == 201 and orjson.loads(created.body)["title"] == title


def test_an_oversized_body_is_too_large(served: Served) -> None:
    body = orjson.dumps({"title": "x" * MAX_BODY_BYTES})
    problem = _problem(_create(served, body), 413, "too_large")
    assert problem["parameter"] == "body" and f"{MAX_BODY_BYTES // 1024} KiB" in problem["detail"]


def test_an_oversized_chunked_body_is_too_large(served: Served) -> None:
    """No `Content-Length` to judge by: the body is cut off as it arrives."""
    chunk = b"x" * 8192
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY_BYTES // 8192 + 2))
    head = f"POST {TIMELINES} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in WRITE.items())
    received = _exchange(served.port, head.encode() + b"\r\n" + chunks + b"0\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 413 ") and b"content-type: application/problem+json" in received


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("title", "Election\x00night", "0000"),
        ("title", "Election \x1b[31mnight", "001B"),
        ("title", "Election night\x7f", "007F"),
        ("title", "Election\x85night", "0085"),
        ("title", "\x0bElection night", "000B"),
        ("slug", "election\x00", "0000"),
    ],
)
def test_control_characters_in_titles_and_slugs_are_refused(
    served: Served, field: str, value: str, code: str
) -> None:
    body = {"title": "Election night", field: value}
    problem = _problem(_create(served, body), 422, "invalid_text")
    assert problem["parameter"] == field and f"U+{code}" in problem["detail"]
    changed = raw(served.port, "PATCH", f"{TIMELINES}/existing", WRITE, orjson.dumps({"title": value}))
    if field == "title":
        _problem(changed, 422, "invalid_text")


def test_tabs_and_line_breaks_in_a_title_become_spaces(served: Served) -> None:
    created = _create(served, {"title": " Line\r\none\tand\n\n  two "})
    assert created.status == 201 and orjson.loads(created.body)["title"] == "Line one and two"


@pytest.mark.parametrize("title", ["", "   ", "\t\n\r ", "\u3000\ufeff", "\xa0"])
def test_a_title_of_white_space_only_is_refused(served: Served, title: str) -> None:
    assert _problem(_create(served, {"title": title}), 400, "invalid_request")["parameter"] == "title"


@pytest.mark.parametrize("host", ["ex ample.com", "a<b>", "host/path", 'quo"te'])
def test_a_bad_host_header_is_said_to_be_one(served: Served, host: str) -> None:
    lines = [f"POST {TIMELINES} HTTP/1.1", f"Host: {host}", "Connection: close", "Content-Length: 2"]
    lines += [f"{name}: {value}" for name, value in WRITE.items()]
    received = _exchange(served.port, ("\r\n".join(lines) + "\r\n\r\n{}").encode("latin-1"))
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"content-type: application/problem+json" in head
    problem = orjson.loads(body)
    assert problem["parameter"] == "Host" and "Host header" in problem["detail"]
    assert "JSON" not in problem["detail"]


ERRORS = [
    ("GET", "/no-such-page", {}, b"", 404),
    ("GET", "/api/v1/no-such-page", {}, b"", 404),
    ("GET", "/schema/no-such-page", {}, b"", 404),
    ("GET", "/schema/no-such.json", {}, b"", 404),
    ("PUT", TIMELINES, {}, b"", 405),
    ("POST", TIMELINES, {}, b"{}", 401),
    ("POST", TIMELINES, {"Authorization": "Bearer nope"}, b"{}", 403),
    ("POST", TIMELINES, WRITE, b"{not json", 400),
    ("POST", TIMELINES, WRITE, b"", 400),
    ("POST", TIMELINES, WRITE, b'{"title": "x", "colour": "red"}', 400),
    ("POST", TIMELINES, WRITE, b'{"title": "Existing", "slug": "existing"}', 409),
    ("PATCH", f"{TIMELINES}/existing", WRITE, b'{"status": "paused"}', 400),
    ("GET", f"{TIMELINES}/no-such-timeline", {}, b"", 404),
    ("GET", f"{TIMELINES}/existing/events?limit=0", {}, b"", 400),
    ("GET", f"{TIMELINES}/existing/events?after=zzz", {}, b"", 400),
    ("GET", f"{TIMELINES}/existing/events/ev_none", {}, b"", 404),
    ("GET", f"{TIMELINES}/existing/changes?since=-1", {}, b"", 400),
    ("GET", f"{TIMELINES}/existing/stream?since=x", {}, b"", 400),
    ("DELETE", f"{TIMELINES}/existing/sources/src_none", WRITE, b"", 404),
    ("GET", "/api/v1/sources?status=asleep", {}, b"", 400),
    ("GET", "/oembed", {}, b"", 400),
    (
        "OPTIONS",
        TIMELINES,
        {"Origin": "https://a.example", "Access-Control-Request-Method": "POST"},
        b"",
        403,
    ),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status"), ERRORS)
def test_every_error_is_a_problem(
    served: Served, method: str, path: str, headers: dict[str, str], body: bytes, status: int
) -> None:
    response = raw(served.port, method, path, headers, body)
    assert response.status == status, response.body
    assert response.header("content-type") == PROBLEM, response.headers
    assert orjson.loads(response.body)["status"] == status


def test_a_websocket_handshake_gets_a_problem(served: Served) -> None:
    handshake = (
        f"GET {TIMELINES}/existing/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    head, _, body = _exchange(served.port, handshake.encode()).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"content-type: application/problem+json" in head.lower()
    assert re.search(rb"/stream", orjson.loads(body)["detail"].encode())


def _exchange(port: int, request: bytes) -> bytes:
    """`request` as it is, and everything the server answers until it closes (or goes quiet)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        received = bytearray()
        sock.settimeout(2)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return bytes(received)


# `\s` as JSON Schema patterns (ECMAScript) read it; Python's `re` reads it otherwise (U+FEFF, U+001C…).
ECMASCRIPT_SPACE = "\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
TITLES = ["Election night", " padded ", "a\tb", "\ufeff", "\u3000", " \xa0", "x\u2028y", "\x85", "a\x00"]


@pytest.mark.parametrize("model", ["TimelineCreate", "TimelineUpdate"])
def test_the_document_says_which_titles_the_server_takes(served: Served, model: str) -> None:
    """A title of white space only, or with control characters, is refused by the server and by the
    document alike (`minLength` alone lets `"   "` through)."""
    schemas = orjson.loads(raw(served.port, "GET", "/schema/openapi.json").body)["components"]["schemas"]
    title = schemas[model]["properties"]["title"]  # pattern and lengths beside `oneOf` when optional
    pattern = re.compile(title["pattern"].replace(r"\s", ECMASCRIPT_SPACE))
    assert title["minLength"] == 1
    for text in TITLES:
        body = orjson.dumps({"title": text})
        if model == "TimelineCreate":
            accepted = _create(served, body).status == 201
        else:
            accepted = raw(served.port, "PATCH", f"{TIMELINES}/existing", WRITE, body).status == 200
        assert accepted == bool(pattern.search(text)), repr(text)
