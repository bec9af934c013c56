"""Resident memory of a process tree (the uvicorn supervisor and its workers, or the job worker), read
from /proc every few seconds on a thread of the run's process."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
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


@dataclass
class RssSampler:
    """Samples each named process tree every ``interval`` seconds until stopped."""

    pids: dict[str, int]
    interval: float = 5.0
    # (Unix time, name, bytes)
    samples: list[tuple[float, str, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            for name, pid in self.pids.items():
                self.samples.append((now, name, tree_rss_bytes(pid)))
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 1)
