"""The ceiling of any app on this server: a bare ASGI hello-world, served by uvicorn exactly as `timeline
api` serves the app (`timeline.cli.uvicorn_config`).

    python -m bench._bare --port 8001
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from timeline.cli import uvicorn_config

BODY = b'{"status":"ok"}'  # what Litestar's `/healthz` answers
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Any GET: `BODY`, read from nothing and built from nothing."""
    if scope["type"] == "lifespan":  # nothing to start or stop
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.Server(uvicorn_config(hello, args.host, args.port)).run()


if __name__ == "__main__":
    main()
