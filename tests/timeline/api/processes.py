"""A bare `timeline api` process over a fresh SQLite file, for tests about what it says on the wire and in
its log (seeded processes are in `served.py`)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.timeline.api.served import TIMELINE, _start
from tests.timeline.api.support import KEY, environment


@dataclass
class Served:
    url: str
    port: int
    log_path: Path
    log: str = ""  # the whole log, once the process has stopped


@contextmanager
def api_process(workdir: Path, **env: str) -> Iterator[Served]:
    """`timeline api` with `KEY`, loopback sources allowed and `env`; stopped with SIGTERM on the way out,
    after which `Served.log` holds everything it wrote."""
    settings = {"TIMELINE_API_KEYS": KEY, "TIMELINE_ALLOW_PRIVATE_SOURCES": "1", **env}
    log_path, process_env = workdir / "api.log", environment(workdir / "api.db", **settings)
    subprocess.run([*TIMELINE, "migrate"], env=process_env, capture_output=True, check=True)
    process, port = _start(process_env, log_path)
    served = Served(f"http://127.0.0.1:{port}", port, log_path)
    try:
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait()
        served.log = log_path.read_text()
    assert returncode in (0, -signal.SIGTERM), served.log
