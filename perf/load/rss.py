"""Resident memory of a process tree (the uvicorn supervisor and its workers, or the job worker), read
from /proc (perf/load/usage.py samples it every few seconds)."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def _children(pid: int) -> list[int]:
    try:
        found = []
        for task in (PROC / str(pid) / "task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
        return found
    except OSError:  # the process is gone
        return []


def _rss_bytes(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_bytes(pid: int) -> int:
    """The process's RSS plus its descendants' (shared pages counted in each, as `ps` does)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        total += _rss_bytes(current)
        pending += _children(current)
    return total
