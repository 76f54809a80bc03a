"""CPU accounting shared by the benchmarks: a process group's, this process's, its children's, the
machine's (Linux `/proc`; other platforms read 0 where `/proc` is needed)."""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Collection
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the processes of a group (a server and any worker it forked)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # pgrp; utime and stime are at 11 and 12
                ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def tree_cpu(root: int, *, without: Collection[int] = ()) -> float:
    """CPU seconds used so far by `root` and its live descendants (a poller and the parse workers its
    forkserver made), leaving out the subtrees of `without` (an upstream it started itself)."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid = int(stat.parent.name)
            children.setdefault(int(fields[1]), []).append(pid)  # ppid
            ticks[pid] = int(fields[11]) + int(fields[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid not in without:
            total += ticks.get(pid, 0)
            todo += children.get(pid, [])
    return total / CLOCK_TICKS


def machine_cpu() -> float:
    """CPU seconds the machine has been busy since boot, all cores, steal included (`/proc/stat`)."""
    with contextlib.suppress(OSError):
        user, nice, system, _idle, _iowait, irq, softirq, steal = Path("/proc/stat").read_text().split()[1:9]
        return sum(map(int, (user, nice, system, irq, softirq, steal))) / CLOCK_TICKS
    return 0.0


def own_cpu() -> float:
    """CPU seconds this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    """CPU seconds of this process's finished children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
