"""The API key `timeline serve` makes on first start when TIMELINE_API_KEYS is empty."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def key_file(database_url: str) -> Path:
    """Beside the SQLite file (`timeline.db` → `timeline.key`); in the working directory otherwise."""
    scheme, _sep, rest = database_url.partition(":///")
    database = rest.split("?", 1)[0]
    if scheme.startswith("sqlite") and database and database != ":memory:":
        return Path(database).with_suffix(".key")
    return Path("timeline.key")


def load_or_create_key(path: Path) -> tuple[str, bool]:
    """The key stored at `path`, or a new one written there with 0600 permissions; True when new."""
    if path.exists():
        return path.read_text().strip(), False
    key = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key, True
