"""Writing one benchmark's section of bench/RESULTS.md, replacing that section if it is there."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}"
    )


def write_section(path: Path, title: str, command: str, notes: str, rows: list[str]) -> None:
    """`## title` with the command, the machine, `notes` and the table `rows`."""
    section = "\n".join(
        [f"## {title}", "", f"Command: `{command}`  ", f"Machine: {machine()}. {notes}", "", *rows, ""]
    )
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    start = text.find(f"## {title}")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
