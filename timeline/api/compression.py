"""Content codings of text responses: which one a request accepts, the bytes in it, and its headers.

gzip, which every client reads, and brotli, which browsers ask for and which makes text 6-14 % smaller
than gzip (measured on our pages, feeds and widget.js; README, "In front"). Bodies under `MIN_SIZE`
go out as they are: they fit in one TCP segment either way, so compressing them saves no round trip and
gzip's 18-byte frame eats much of what it saves. Output is deterministic (gzip without a timestamp, fixed
levels), so every process makes the same bytes under the same tag.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import brotli

GZIP, BROTLI = "gzip", "br"
MIN_SIZE = 1024
# Media types (before any `;` parameter) worth compressing besides text/*, *+json and *+xml. Never
# text/event-stream: a stream's frames must reach the reader as they are written, and a compressor holds
# them back.
COMPRESSIBLE = frozenset(("application/json", "application/xml", "application/vnd.oai.openapi"))
STREAM = "text/event-stream"
_OFFERED = (BROTLI, GZIP)  # on equal weights the smaller wins
_ALIASES = {"x-gzip": GZIP}  # RFC 9110 §8.4.1.3
_QVALUE = re.compile(r"0(?:\.\d{0,3})?|1(?:\.0{0,3})?")

Headers = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class Accepted:
    """What a request's `Accept-Encoding` allows: the codings we offer that it accepts, best first, and
    whether it takes a body as it is (`identity`)."""

    codings: tuple[str, ...]
    identity: bool = True

    def choose(self, size: int) -> str | None:
        """The coding for a body of `size` bytes; None to send it as it is."""
        if self.codings and (size >= MIN_SIZE or not self.identity):
            return self.codings[0]
        return None


IDENTITY = Accepted(())


@lru_cache(maxsize=256)  # clients send a handful of distinct headers: parse each once
def accepted(header: str | None) -> Accepted:
    """RFC 9110 §12.5.3. No header: as it is (any coding would do, but a client that says nothing may
    not decode one). A coding not listed takes the weight of `*`, else is refused; `identity` not listed
    takes the weight of `*`, else is acceptable but ranks below every coding the client listed."""
    if header is None:
        return IDENTITY
    weights = _weights(header)
    star = weights.get("*")
    identity = weights.get("identity", star)
    ranked = sorted(
        ((weight, coding) for coding in _OFFERED if (weight := weights.get(coding, star or 0.0)) > 0),
        key=lambda pair: -pair[0],
    )
    codings = tuple(coding for weight, coding in ranked if identity is None or weight >= identity)
    return Accepted(codings, identity is None or identity > 0)


def _weights(header: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for item in header.split(","):
        name, _, parameters = item.partition(";")
        name = name.strip().lower()
        if name:
            weights[_ALIASES.get(name, name)] = _weight(parameters)
    return weights


def _weight(parameters: str) -> float:
    """The `q` parameter; a malformed one refuses the coding rather than guess."""
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "q":
            value = value.strip()
            return float(value) if _QVALUE.fullmatch(value) else 0.0
    return 1.0


def compressible(media_type: bytes) -> bool:
    base = media_type.partition(b";")[0].strip().decode("latin-1").lower()
    if base.startswith("text/"):
        return base != STREAM
    return base in COMPRESSIBLE or base.endswith(("+json", "+xml"))


def compress(body: bytes, coding: str, *, best: bool = False) -> bytes:
    """`best` for what is compressed once for the life of the process (static files); pages, compressed
    again at each change of their timeline, take the faster levels, which cost about the same as each
    other (~0.3 ms for 18 KB of JSON)."""
    if coding == GZIP:
        return gzip.compress(body, compresslevel=9 if best else 6, mtime=0)
    return cast(bytes, brotli.compress(body, quality=11 if best else 5))


def coded_tag(tag: str, coding: str) -> str:
    """The entity tag of `tag`'s representation in `coding`: strong, and distinct from every other
    coding's (RFC 9110 §8.8.3.3), as the bytes differ."""
    weak, opaque = ("W/", tag[2:]) if tag.startswith("W/") else ("", tag)
    return f'{weak}{opaque[:-1]}-{coding}"'


def recode(headers: Iterable[tuple[bytes, bytes]], coding: str, length: int) -> Headers:
    """`headers` of a body, for that body in `coding` (`length` bytes): length, tag and coding."""
    out: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        if name == b"content-length":
            value = str(length).encode()
        elif name == b"etag":
            value = coded_tag(value.decode("latin-1"), coding).encode("latin-1")
        out.append((name, value))
    out.append((b"content-encoding", coding.encode()))
    return tuple(out)
