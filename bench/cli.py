"""CLI start-up: CPU (user + sys) of `timeline --help`, `timeline poll FILE` and `timeline ingest FILE`.

    .venv/bin/python -m bench.cli [--runs 7] [--out bench/RESULTS.md]

Each command runs `--runs` times as a child process, the commands taken in turn; its CPU is the growth of
this process's children's rusage (the command and every process it waited for: `poll` and `ingest` parse
in a worker process that counts too). The document is a 20-update RSS live blog written here; `ingest` goes
into a fresh SQLite file per run. Target: `timeline --help` ≤ 0.3 s of CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._cpu import children_cpu
from bench._results import RESULTS, write_section
from bench.ingest import rss_doc

TIMELINE = str(Path(sys.executable).with_name("timeline"))


def commands(feed: Path) -> dict[str, list[str]]:
    return {
        "timeline --help": [TIMELINE, "--help"],
        "timeline poll FILE": [TIMELINE, "poll", str(feed)],
        "timeline ingest FILE --timeline bench": [TIMELINE, "ingest", str(feed), "--timeline", "bench"],
    }


def cpu_of(argv: list[str], workdir: Path) -> float:
    database = Path(tempfile.mkdtemp(dir=workdir)) / "cli.db"  # fresh, with no WAL left from a run before
    env = os.environ | {"TIMELINE_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    before = children_cpu()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return children_cpu() - before


def measure(runs: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        feed = workdir / "live.xml"
        feed.write_bytes(rss_doc(20))
        argvs = commands(feed)
        seconds: dict[str, list[float]] = {name: [] for name in argvs}
        for _ in range(runs):
            for name, argv in argvs.items():
                seconds[name].append(cpu_of(argv, workdir))
    return seconds


def rows(seconds: dict[str, list[float]]) -> list[str]:
    table = ["| command | CPU s, median | min | max | target |", "|---|---:|---:|---:|---|"]
    for name, values in seconds.items():
        median = statistics.median(values)
        target = ("met" if median <= 0.3 else "**missed**") if name == "timeline --help" else ""
        table.append(f"| `{name}` | {median:.2f} | {min(values):.2f} | {max(values):.2f} | {target} |")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--title", default="CLI start-up", help="The RESULTS.md section to write.")
    args = parser.parse_args()
    table = rows(measure(args.runs))
    print(*table, sep="\n")
    command = "python -m bench.cli " + " ".join(sys.argv[1:])
    notes = f"user + sys CPU of each command and its waited-for children, {args.runs} runs, commands in turn."
    write_section(args.out, args.title, command, notes, table)


if __name__ == "__main__":
    main()
