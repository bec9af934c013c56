"""Where a load run's CPU went: the server's workers, the job worker, MariaDB, Redis, and the rest of
the machine (Locust, mostly), from /proc at the start and the end of the run (perf/shared/cpu.py)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from perf.shared.cpu import children, cpu_seconds, machine_busy_seconds, service_pids


@dataclass(frozen=True)
class CpuUse:
    seconds: float  # wall time the figures cover
    by_part: dict[str, float]  # CPU seconds
    machine: float  # CPU seconds all cores were busy, whoever used them

    def describe(self, requests: int) -> str:
        cores = os.cpu_count() or 1
        parts = ", ".join(f"{name} {used:.0f} s" for name, used in self.by_part.items())
        rest = self.machine - sum(self.by_part.values())
        server = self.by_part.get("server workers", 0.0)
        per_request = f"; {server * 1000 / requests:.1f} ms of server CPU per request" if requests else ""
        busy = self.machine / (self.seconds * cores) if self.seconds else 0.0
        return (
            f"CPU over the run: {parts}, the rest (Locust mostly) {rest:.0f} s; the machine was busy "
            f"{busy:.0%} of its {cores} cores' time{per_request}"
        )


class CpuLedger:
    def __init__(self, server_pid: int, worker_pid: int) -> None:
        self._parts = {
            "server workers": children(server_pid),
            "job worker": [worker_pid],
            **{name: [pid] for name, pid in service_pids().items()},
        }
        self._start = self.read()
        self._machine = machine_busy_seconds()
        self._started = time.monotonic()

    def read(self) -> dict[str, float]:
        """CPU seconds each part has used since it started (the usage sampler reads them over time)."""
        return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in self._parts.items()}

    def finish(self) -> CpuUse:
        end = self.read()
        return CpuUse(
            seconds=time.monotonic() - self._started,
            by_part={name: end[name] - self._start[name] for name in end},
            machine=machine_busy_seconds() - self._machine,
        )
