"""The hostile upstream of bench/hostile.py: documents written to cost a parser seconds or gigabytes.

    .venv/bin/python -m bench._hostile_upstream --port PORT

Until `GET /arm`, and again after `GET /disarm`, every path serves the same small valid RSS item: a
source can be attached (its first poll must succeed), and polled at no cost (same bytes, no parse).
Armed, each path serves its hostile document, with a 12-digit counter that changes on every request
and no validators, so that every poll parses it again. `GET /stats`: how many hostile documents each
path has served. Each response closes its connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os

import orjson

from bench.ingest import guardian_doc

SLOT = b"@@COUNTER@@!"  # where each response's counter goes: as long as the counter itself
RSS_HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>'
RSS_TAIL = b"</channel></rss><!--" + SLOT + b"-->"
BENIGN = RSS_HEAD + b"<item><guid>benign</guid><title>Attached</title></item>" + RSS_TAIL
MB = 1_000_000


def nested_xml(size: int = 9_800_000) -> bytes:
    """A feed whose one item holds elements nested ~3 million deep, never closed."""
    head = RSS_HEAD + b"<item><guid>deep</guid><title>Deep</title>"
    tail = b"<!--" + SLOT + b"-->"
    return head + b"<a>" * ((size - len(head) - len(tail)) // 3) + tail


def many_items(count: int = 100_000) -> bytes:
    """An 8 MB RSS feed of `count` small items, 80 bytes each."""
    items = b"".join(
        b"<item><guid>%06d</guid><title>Update %06d</title><link>/%06d</link></item>" % (i, i, i)
        for i in range(count)
    )
    return RSS_HEAD + items + RSS_TAIL


def long_titles(count: int = 80, title_bytes: int = 100_000) -> bytes:
    """A feed of `count` items whose titles are `title_bytes` of words each."""
    words = (b"Breaking: the count goes on " * (title_bytes // 28 + 1))[:title_bytes]
    items = b"".join(b"<item><guid>t%d</guid><title>%s</title></item>" % (i, words) for i in range(count))
    return RSS_HEAD + items + RSS_TAIL


def big_guardian(size: int = 9_900_000) -> bytes:
    """A valid Guardian Content API item of about `size` bytes (~8,000 updates): legitimate, just huge."""
    per_update = len(guardian_doc(101)) - len(guardian_doc(100))
    document = guardian_doc(size // per_update)
    return document.replace(b'"Election night live"', b'"Election night live ' + SLOT + b'"', 1)


def spinning_jsonld(depth: int = 30_000) -> bytes:
    """A 150 KB page whose one JSON-LD update has `<div>` nested `depth` deep: the HTML sanitizer's
    tree builder takes seconds over it (time grows with the square of the depth)."""
    update = {
        "@type": "BlogPosting",
        "url": "https://hostile.example/live#1",
        "datePublished": "2026-11-03T18:00:00Z",
        "headline": "Spin",
        "articleBody": "<div>" * depth + "spin",
    }
    blog = {"@context": "https://schema.org", "@type": "LiveBlogPosting", "liveBlogUpdate": [update]}
    script = b'<script type="application/ld+json">' + orjson.dumps(blog) + b"</script>"
    return b"<html><head>" + script + b"</head><body><!--" + SLOT + b"--></body></html>"


DOCUMENTS = {  # path → (content type, builder, what it is)
    "/nested.xml": ("application/rss+xml", nested_xml, "XML nested ~3 million deep"),
    "/items.xml": ("application/rss+xml", many_items, "RSS, 100,000 items"),
    "/titles.xml": ("application/rss+xml", long_titles, "RSS, 80 items with 100 KB titles"),
    "/big.json": ("application/json", big_guardian, "Guardian JSON, ~8,000 updates"),
    "/spin.html": ("text/html", spinning_jsonld, "JSON-LD page, `<div>` nested 30,000 deep"),
}


class Hostile:
    def __init__(self) -> None:
        self.armed = False
        self.counter = 0
        self.served = dict.fromkeys(DOCUMENTS, 0)
        self.bodies = {path: builder().split(SLOT) for path, (_, builder, _) in DOCUMENTS.items()}
        self.sizes = {path: sum(map(len, parts)) + len(SLOT) for path, parts in self.bodies.items()}

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            path = request.split(b" ", 2)[1].decode("latin-1")
            await self._answer(path, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the poller gave up on a body, or a prober left
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, path: str, writer: asyncio.StreamWriter) -> None:
        if path in ("/arm", "/disarm"):
            self.armed = path == "/arm"
            _respond(writer, "text/plain", [path[1:].encode()])
        elif path == "/stats":
            _respond(writer, "application/json", [orjson.dumps({"served": self.served, "sizes": self.sizes})])
        elif path not in DOCUMENTS:
            _respond(writer, "text/plain", [b"not found"], status="404 Not Found")
        elif not self.armed:
            _respond(writer, "application/rss+xml", BENIGN.split(SLOT), counter=b"0" * len(SLOT))
        else:
            self.served[path] += 1
            _respond(writer, DOCUMENTS[path][0], self.bodies[path], counter=self._next())
        await writer.drain()

    def _next(self) -> bytes:
        self.counter += 1
        return b"%012d" % self.counter


def _respond(
    writer: asyncio.StreamWriter,
    content_type: str,
    parts: list[bytes],
    *,
    counter: bytes = b"",
    status: str = "200 OK",
) -> None:
    """Write a response whose body is `parts` joined by `counter`, without copying the parts."""
    length = sum(map(len, parts)) + len(counter) * (len(parts) - 1)
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    for i, part in enumerate(parts):
        if i:
            writer.write(counter)
        writer.write(part)


async def main(port: int) -> None:
    hostile = Hostile()
    server = await asyncio.start_server(hostile.serve, "127.0.0.1", port)
    sizes = ", ".join(f"{path} {size / MB:.1f} MB" for path, size in hostile.sizes.items())
    print(f"hostile upstream on 127.0.0.1:{port}: {sizes}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nice", type=int, default=10, help="Lower this process's CPU priority by so much.")
    args = parser.parse_args()
    os.nice(args.nice)  # it stands for machines elsewhere: the server and the prober come first
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.port))
