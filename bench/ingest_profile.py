"""Where parse + normalize spend their time, per update, for each document of bench/ingest.py: the profile
behind its re-poll and updates/s rows.

    taskset -c 1 .venv/bin/python -m bench.ingest_profile [--updates 2000] [--rounds 5]
        [--out bench/RESULTS.md]

Stages are timed alone, each the least CPU time of `--rounds`, in µs per update: the adapter's parse;
normalizing with every update new, and the parts of it that cost most (sanitizing with nh3 and the lexbor
pre-pass, rendering the text, validating the draft, the raw hash); normalizing with every update known. Then
cProfile's cumulative seconds for the parse of each syndication format, split by the functions that
take most of it, to show which reader bounds a re-poll.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench._results import RESULTS, write_section
from bench.ingest import BASE, FORMATS, START
from feeds.adapters import parse
from timeline.models import EventDraft
from timeline.normalize import normalize, sanitize
from timeline.normalize.raw_hash import raw_hash

# What a syndication parse is made of, by the function that does it (file suffix, function name).
PARSE_PARTS = {
    "feedparser": ("feedparser/api.py", "parse"),
    "`_plain_rss` (ElementTree + feedparser-shaped dicts)": ("_plain_rss.py", "read"),
    "`syndication` entries (times, media, names)": ("syndication.py", "_xml_entry"),
    "`syndication` JSON Feed items": ("syndication.py", "_json_entry"),
    "`ParsedUpdate`s (`build_updates`)": ("_common.py", "build_updates"),
}


def _per_update(work: Callable[[], object], n: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best * 1e6 / n


def stage_row(name: str, adapter: str, body: bytes, rounds: int) -> str:
    snapshot = parse(body, BASE, adapter=adapter)
    updates, base = snapshot.updates, sanitize.absolute_http_url(snapshot.url)
    n = len(updates)
    drafts = normalize(snapshot, source_id="src_bench", now=START).drafts
    known = frozenset(draft.raw_hash or "" for draft in drafts)
    cleaned = [sanitize.sanitize_html(u.body_html, base_url=base) for u in updates]
    # Bodies are distinct per update, so normalize's memo of rendered bodies never hits here.
    stages = [
        lambda: parse(body, BASE, adapter=adapter),
        lambda: normalize(snapshot, source_id="src_bench", now=START),
        lambda: [sanitize.sanitize_html(u.body_html, base_url=base) for u in updates],
        lambda: [sanitize.html_to_text(html) for html in cleaned],
        lambda: [EventDraft(**draft.__dict__) for draft in drafts],
        lambda: [raw_hash(u, base) for u in updates],
        lambda: normalize(snapshot, source_id="src_bench", now=START, known=known),
    ]
    cells = " | ".join(f"{_per_update(stage, n, rounds):,.1f}" for stage in stages)
    return f"| `{name}` | {cells} |"


def parse_parts(adapter: str, body: bytes) -> str:
    profile = cProfile.Profile()
    profile.runcall(parse, body, BASE, adapter=adapter)
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]  # documented, untyped
    total = sum(tottime for _, _, tottime, _, _ in stats.values())
    parts = []
    for label, (suffix, function) in PARSE_PARTS.items():
        cumulative = sum(
            entry[3] for (path, _, name), entry in stats.items() if path.endswith(suffix) and name == function
        )
        if cumulative >= 0.005:
            parts.append(f"{label} {cumulative:.2f} s")
    return f"{total:.2f} s profiled: " + ", ".join(parts)


def run(n: int, rounds: int) -> list[str]:
    rows = [
        "| document (µs per update) | parse | normalize, all new | of which sanitize | text rendering "
        "| draft validation | raw hash | normalize, all known |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (adapter, make) in FORMATS.items():
        rows.append(stage_row(name, adapter, make(n), rounds))
        print(rows[-1], flush=True)
    rows += ["", "| syndication parse, cProfile | where it goes |", "|---|---|"]
    for name, (adapter, make) in FORMATS.items():
        if adapter == "syndication":
            rows.append(f"| `{name}`, {n:,} updates | {parse_parts(adapter, make(n))} |")
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
    rows = run(args.updates, args.rounds)
    command = "python -m bench.ingest_profile " + " ".join(sys.argv[1:])
    notes = "One process, one core; each stage timed alone, in CPU time, the least of its rounds."
    write_section(args.out, "Ingest profile: where parse + normalize go (issue 19)", command, notes, rows)


if __name__ == "__main__":
    main()
