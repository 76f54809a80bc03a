"""A plain local web server standing in for the publisher: the live blog, and a page embedding it."""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from timeline.web.demo.replay import Replay

BLOG_PATH = "/blog.json"


class DemoUpstream:
    """Serves `replay` at `/blog.json` (with an ETag per step) and, at `/`, `host_page`: a page of
    another origin embedding the timeline. Runs in a thread of its own until `close()`."""

    def __init__(self, replay: Replay, host_page: str = "", host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"replay": replay, "host_page": host_page.encode()})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-upstream", daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def blog_url(self) -> str:
        return self.origin + BLOG_PATH

    def start(self) -> DemoUpstream:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    replay: Replay
    host_page: bytes
    server_version = "timeline-demo"

    def do_GET(self) -> None:
        if self.path == BLOG_PATH:
            step, body = self.replay.serve()
            tag = f'"step-{step}"'
            if self.headers.get("If-None-Match") == tag:
                self._send(HTTPStatus.NOT_MODIFIED, b"", ETag=tag)
            else:
                self._send(HTTPStatus.OK, body, ETag=tag, **{"Content-Type": "application/json"})
        elif self.path == "/" and self.host_page:
            self._send(HTTPStatus.OK, self.host_page, **{"Content-Type": "text/html; charset=utf-8"})
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", **{"Content-Type": "text/plain"})

    def _send(self, status: HTTPStatus, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the poller already logs one line per fetch."""
