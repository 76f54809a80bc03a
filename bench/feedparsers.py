"""Feed parser choice for the `syndication` adapter: feedparser, feedparser-rs and fastfeedparser, field by
field and for speed.

    .venv/bin/python -m bench.feedparsers [--updates 2000] [--rounds 5] [--out bench/RESULTS.md]

Each library's result is turned into the feedparser-shaped dict `syndication` reads (only the keys it reads)
and goes through the adapter's own entry builder, so the snapshots differ only where the libraries do. The
reference is the adapter as shipped (`_plain_rss`, else feedparser; JSON Feed read with orjson). Documents:
every RSS/Atom/RDF/JSON Feed file in ../shared/fixtures (read in place) and generated live blogs in each
format with every field the adapter reads (ids, times, titles, summaries, bodies, links, authors, tags,
enclosures and media). Speed: parse only (the library's call), and parse + build + `normalize` per update,
best of `--rounds`, the libraries taken in turn within each round.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

# Benchmark-only: `pip install feedparser-rs fastfeedparser` (neither is a dependency of the service).
import fastfeedparser  # type: ignore[import-untyped, import-not-found, unused-ignore]
import feedparser
import feedparser_rs  # type: ignore[import-not-found, unused-ignore]

from bench._feeds import BASE, GENERATED, START
from bench._results import RESULTS, write_section
from feeds.adapters import _plain_rss, syndication
from feeds.adapters._common import Clock, Raw, Warnings, absolute_url, get, text
from feeds.errors import ParseError
from feeds.types import DEFAULT_LIMITS, ParsedSnapshot
from timeline.normalize import normalize

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
FIELDS: tuple[str, ...] = (
    "upstream_id",
    "published_at",
    "updated_at",
    "title",
    "summary",
    "body_html",
    "url",
)
FIELDS += ("authors", "tags", "media")
Reader = Callable[[bytes], Raw]


# --- each library's result, in the shape `syndication` reads -----------------------------------------


def feedparser_raw(body: bytes) -> Raw:
    headers = {"content-type": "application/xml", "content-location": BASE}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result: Raw = feedparser.parse(
            io.BytesIO(body), response_headers=headers, resolve_relative_uris=False, sanitize_html=False
        )
    return result


def shipped_raw(body: bytes) -> Raw:
    return _plain_rss.read(body, BASE) or feedparser_raw(body)


def _attrs(obj: Any, *names: str) -> dict[str, Any]:
    return {name: value for name in names if (value := getattr(obj, name, None)) is not None}


def _rs_entry(e: Any) -> Raw:
    entry = _attrs(e, "id", "link", "title", "published", "updated", "published_parsed", "updated_parsed")
    entry |= _attrs(e, "summary", "author")
    if e.summary_detail is not None:
        entry["summary_detail"] = _attrs(e.summary_detail, "type", "value")
    entry["content"] = [_attrs(c, "type", "value") for c in e.content]
    entry["authors"] = [_attrs(a, "name") for a in e.authors]
    entry["tags"] = [_attrs(t, "term") for t in e.tags]
    entry["links"] = [_attrs(link, "rel", "href", "type", "title") for link in e.links]
    # JSON Feed attachments come only as enclosures; RSS and Atom ones are in the links as well.
    if not any(link.get("rel") == "enclosure" for link in entry["links"]):
        entry["links"] += [{"rel": "enclosure"} | _attrs(x, "href", "type") for x in e.enclosures]
    entry["media_content"] = [_attrs(m, "url", "type", "medium") for m in e.media_content]
    entry["media_thumbnail"] = [_attrs(m, "url") for m in e.media_thumbnail]
    return entry


def feedparser_rs_raw(body: bytes) -> Raw:
    result = feedparser_rs.parse(body, sanitize_html=False, resolve_relative_uris=False)
    feed = _attrs(result.feed, "title", "link")
    problem = Exception(str(result.bozo_exception)) if result.bozo else None
    entries = [_rs_entry(e) for e in result.entries]
    return {"version": result.version, "bozo_exception": problem, "feed": feed, "entries": entries}


def _fast_entry(e: dict[str, Any]) -> Raw:
    entry: Raw = {
        k: e[k] for k in ("id", "link", "title", "published", "updated", "author", "authors") if k in e
    }
    entry["summary"] = e.get("description")
    entry["content"] = e.get("content") or []
    entry["tags"] = e.get("tags") or []
    entry["media_content"] = e.get("media_content") or []
    enclosures = [
        {"rel": "enclosure", "href": x.get("url"), "type": x.get("type")} for x in e.get("enclosures", ())
    ]
    entry["links"] = [*e.get("links", ()), *enclosures]
    return entry


def fastfeedparser_raw(body: bytes) -> Raw:
    try:
        result = fastfeedparser.parse(body)
    except ValueError as exc:
        return {"version": "", "bozo_exception": exc, "feed": {}, "entries": []}
    entries = [_fast_entry(e) for e in result.get("entries", ())]
    return {"version": "fast", "feed": dict(result.get("feed", {})), "entries": entries}


READERS: dict[str, Reader] = {
    "shipped (`_plain_rss` → feedparser)": shipped_raw,
    f"feedparser {feedparser.__version__}": feedparser_raw,
    "feedparser-rs 0.7.1": feedparser_rs_raw,
    "fastfeedparser 0.6.5": fastfeedparser_raw,
}
REFERENCE = next(iter(READERS))


def snapshot(read: Reader, body: bytes) -> ParsedSnapshot:
    """What `syndication.parse` returns when `read` stands in for its XML reader."""
    if body.lstrip().startswith(b"{") and read is shipped_raw:
        return syndication.parse(body, BASE)
    parsed = read(body)
    found = Warnings()
    clock = Clock(UTC, found)
    entries = get(parsed, "entries", list) or []
    if not get(parsed, "version", str) and not entries:
        raise ParseError(f"not a feed ({get(parsed, 'bozo_exception', Exception)})", url=BASE)
    channel = get(parsed, "feed", dict)
    feed = syndication._Feed(
        title=text(channel, "title"),
        url=absolute_url(get(channel, "link", str), BASE),
        ended=False,
        entries=[syndication._xml_entry(e, BASE, clock) for e in entries if isinstance(e, dict)],
    )
    return syndication._snapshot(feed, DEFAULT_LIMITS, found)


# --- field by field -------------------------------------------------------------------------------------


def documents(updates: int) -> dict[str, bytes]:
    found = {
        f"fixture `{path.name}`": path.read_bytes()
        for path in sorted(FIXTURES.glob("*"))
        if path.name.startswith(("rss_", "atom_", "rdf_", "jsonfeed_", "malformed_rss_"))
    }
    return found | {f"generated {name}, 50 updates": make(50) for name, make in GENERATED.items()}


def _outcome(read: Reader, body: bytes) -> ParsedSnapshot | str:
    try:
        return snapshot(read, body)
    except (ParseError, ValueError) as exc:
        return f"refused ({type(exc).__name__})"


def differences(expected: ParsedSnapshot | str, got: ParsedSnapshot | str) -> str:
    """Which fields differ from the reference, with the count of updates each differs on."""
    if isinstance(expected, str) or isinstance(got, str):
        return "same" if expected == got else f"{_short(got)}, not {_short(expected)}"
    notes = []
    if len(expected.updates) != len(got.updates):
        notes.append(f"{len(got.updates)} updates, not {len(expected.updates)}")
    for field in FIELDS:
        count = sum(
            getattr(a, field) != getattr(b, field)
            for a, b in zip(expected.updates, got.updates, strict=False)
        )
        if count:
            notes.append(f"{field} ({count})")
    if expected.title != got.title or expected.url != got.url:
        notes.append("feed title/url")
    return ", ".join(notes) or "same"


def _short(outcome: ParsedSnapshot | str) -> str:
    return outcome if isinstance(outcome, str) else f"{len(outcome.updates)} updates"


def comparison_rows(docs: dict[str, bytes]) -> list[str]:
    names = list(READERS)[1:]
    rows = ["| document | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, body in docs.items():
        expected = _outcome(READERS[REFERENCE], body)
        cells = [differences(expected, _outcome(READERS[name], body)) for name in names]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    return rows


# --- speed -------------------------------------------------------------------------------------------


def _seconds(work: Callable[[bytes], object], body: bytes) -> float:
    started = time.perf_counter()
    work(body)
    return time.perf_counter() - started


def _parse_only(read: Reader) -> Callable[[bytes], object]:
    """The library's call alone; JSON Feed, which feedparser does not read, as the adapter reads it."""
    return lambda body: (
        syndication.parse(body, BASE) if body.startswith(b"{") and read is shipped_raw else read(body)
    )


def _parse_and_normalize(read: Reader) -> Callable[[bytes], object]:
    return lambda body: normalize(snapshot(read, body), source_id="src_bench", now=START)


def format_rates(body: bytes, rounds: int) -> dict[str, tuple[float, float] | None]:
    """Per reader, the best seconds for parse only and for parse + build + normalize, readers in turn
    (None for a reader that refuses the format)."""
    best: dict[str, tuple[float, float] | None] = {}
    for _ in range(rounds):
        for name, read in READERS.items():
            if name in best and best[name] is None:
                continue
            try:
                full = _seconds(_parse_and_normalize(read), body)
            except ParseError:
                best[name] = None
                continue
            parse = _seconds(_parse_only(read), body)
            before = best.get(name) or (float("inf"), float("inf"))
            best[name] = (min(before[0], parse), min(before[1], full))
    return best


SPEED_HEADER = [
    "| format | reader | parse only, updates/s | parse+normalize, updates/s | vs shipped | ≥ 20,000/s |",
    "|---|---|---:|---:|---:|---|",
]


def speed_rows(updates: int, rounds: int) -> list[str]:
    rows = list(SPEED_HEADER)
    for fmt, make in GENERATED.items():
        seconds = format_rates(make(updates), rounds)
        shipped = seconds[REFERENCE]
        assert shipped is not None
        for name, timing in seconds.items():
            if timing is None:
                rows.append(f"| {fmt} | {name} | refuses the format | | | |")
                continue
            parse, full = timing
            cells = [f"{updates / parse:,.0f}", f"{updates / full:,.0f}", f"{shipped[1] / full:.2f}×"]
            met = "met" if updates / full >= 20_000 else "missed"
            rows.append(f"| {fmt} | {name} | " + " | ".join(cells) + f" | {met} |")
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = comparison_rows(documents(args.updates))
    rows += ["", *speed_rows(args.updates, args.rounds)]
    command = "python -m bench.feedparsers " + " ".join(sys.argv[1:])
    write_section(args.out, "Feed parsers (syndication)", command, NOTES, rows)


NOTES = "One process, one core; see the module docstring."

if __name__ == "__main__":
    main()
