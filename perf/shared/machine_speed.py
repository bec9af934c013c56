"""How fast this machine is right now, so load reports from different machines (or one shared, noisy
host on different days) can be compared: one argon2id login hash and a fixed loop of plain Python,
each the median of several runs on an idle moment before the load starts.

Seen here: the same 2-core VM kind measured one argon2id verification at 25 ms one day and at 40 to
51 ms another, and the Python loop varied by 1.7x within a minute; latencies scale with it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from persistence.passwords import Passwords
from persistence.settings import Settings

_LOOP_ITERATIONS = 1_000_000


@dataclass(frozen=True)
class MachineSpeed:
    argon2_verify_ms: float  # one login's hash check at the server's parameters
    python_loop_ms: float  # a million additions in a Python loop

    def describe(self) -> str:
        return (
            f"machine speed before the run: one argon2id verification {self.argon2_verify_ms:.0f} ms, "
            f"a million Python loop additions {self.python_loop_ms:.0f} ms (medians)"
        )


def _median_ms(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _python_loop() -> int:
    total = 0
    for value in range(_LOOP_ITERATIONS):
        total += value
    return total


def measure(settings: Settings, runs: int = 9) -> MachineSpeed:
    # The server's own hasher, so the figure is what a login costs, whatever the parameters become.
    passwords = Passwords(settings)
    stored = passwords.hash_sync("calibration")
    return MachineSpeed(
        argon2_verify_ms=_median_ms(lambda: passwords.verify_sync(stored, "calibration"), runs),
        python_loop_ms=_median_ms(_python_loop, runs),
    )
