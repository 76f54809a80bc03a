"""API keys: named keys from TIMELINE_API_KEYS, checking a request's key, and the key file `serve` makes.

`TIMELINE_API_KEYS="alice:KEY1,desk:KEY2"` names each key; a bare key is named by its position (`key1`,
`key2`…). The name is what the audit log records for each editorial action. Keys are compared as bytes:
an HTTP header is bytes, and a key with characters outside printable ASCII could not be sent reliably,
so such keys are refused when the settings load.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ApiKey",
    "key_file",
    "load_or_create_key",
    "loose_mode",
    "match_key",
    "parse_api_keys",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what survives an HTTP header as it is


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key for writes (and keyed reads), with the name the audit log shows for it."""

    name: str
    secret: bytes

    def __repr__(self) -> str:  # never the secret, in logs or tracebacks
        return f"ApiKey(name={self.name!r})"


def parse_api_keys(text: str) -> tuple[ApiKey, ...]:
    """The keys of `TIMELINE_API_KEYS`: comma-separated, each `NAME:KEY` or a bare `KEY` (named `keyN`,
    N its position from 1). Raises `ValueError` saying which entry is wrong and why."""
    keys: list[ApiKey] = []
    for position, entry in enumerate(text.split(","), start=1):
        if entry.strip():
            keys.append(_parse_entry(entry.strip(), position))
    _refuse_repeats(keys)
    return tuple(keys)


def _parse_entry(entry: str, position: int) -> ApiKey:
    name, colon, secret = entry.partition(":")
    if not colon:
        name, secret = f"key{position}", entry
    name, secret = name.strip(), secret.strip()
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"entry {position}: the name {name!r} must be 1-40 ASCII letters, digits, `_`, `.` or `-`"
        )
    if not _PRINTABLE.fullmatch(secret):
        problem = "is empty" if not secret else "has characters outside printable ASCII (or spaces)"
        raise ValueError(f"entry {position} ({name}): the key {problem}; keys must be printable ASCII")
    return ApiKey(name, secret.encode("ascii"))


def _refuse_repeats(keys: list[ApiKey]) -> None:
    names = [key.name for key in keys]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"each key needs a name of its own; repeated: {', '.join(repeated)}")
    if len({key.secret for key in keys}) < len(keys):
        raise ValueError("the same key is listed twice: the audit log could not tell who used it")


def match_key(token: bytes, keys: tuple[ApiKey, ...]) -> ApiKey | None:
    """The key `token` is, compared in constant time per key; None when it is none of them."""
    found = None
    for key in keys:  # every key is compared, so the time taken does not say which one matched
        if hmac.compare_digest(token, key.secret):
            found = key
    return found


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


def loose_mode(path: Path) -> int | None:
    """The permission bits of `path` when anyone but its owner may read or write it (looser than 0600);
    None when they are tight."""
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & 0o077 else None
