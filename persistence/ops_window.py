"""This process's last minute of traffic, for the live `opsMetrics` (resolvers/ops.py).

A ring of one-second slots (bounded memory: ``seconds`` slots whatever the load). Each slot holds,
per operation class, the request count, the error count and a fixed-bucket latency histogram, and the
cache hits and misses per data type. Fixed buckets are what make windows mergeable: the snapshots of
every process add up bucket by bucket, and percentiles are read off the sum by interpolation (the
way Prometheus' ``histogram_quantile`` does), never averaged.

What counts as an error: a 5xx answer, or a 200 carrying an INTERNAL_SERVER_ERROR (a bug or an
outage). Refusals of the client's own making (4xx, BAD_USER_INPUT, FORBIDDEN, RATE_LIMITED) are not.

Prometheus (persistence/metrics.py) answers "how has it been"; this answers "how is it right now,
across every process", without a Prometheus server in between.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.pool import Pool

from persistence.metrics import CACHE_HITS, CACHE_MISSES

# Upper bounds in seconds. Every figure of the seed's latency table (p50, p95, p99 per class) is a
# bound, so a flag at a threshold is exact, not an interpolation's guess; +inf catches the rest.
BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8,
    1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, math.inf,
)  # fmt: skip
# A request refused before it named an operation (bad JSON, an unknown APQ hash, a failing sign-in):
# counted in the request and error rates, in no class of the seed's.
UNCLASSIFIED = "unclassified"
SNAPSHOT_VERSION = 1

CacheTotals = Callable[[], Mapping[str, tuple[float, float]]]


def bucket_index(seconds: float) -> int:
    for index, bound in enumerate(BUCKETS):
        if seconds <= bound:
            return index
    return len(BUCKETS) - 1


def percentile(buckets: list[int], q: float) -> float | None:
    """The q-quantile (0 < q <= 1) of a histogram, interpolated linearly inside its bucket; None when
    empty. In the +inf bucket: its lower bound (the largest finite bound), as Prometheus answers."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            lower = 0.0 if index == 0 else BUCKETS[index - 1]
            upper = BUCKETS[index]
            if math.isinf(upper):
                return lower
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return BUCKETS[-2]


@dataclass
class ClassFigures:
    count: int = 0
    errors: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))

    def add(self, other: ClassFigures) -> None:
        self.count += other.count
        self.errors += other.errors
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]


@dataclass
class _Slot:
    second: int
    classes: dict[str, ClassFigures] = field(default_factory=dict)
    cache: dict[str, list[float]] = field(default_factory=dict)  # data type -> [hits, misses]


@dataclass(frozen=True)
class PoolUse:
    in_use: int
    size: int  # pool size + overflow: how many connections the pool may hold at most


def pool_use(pools: Sequence[Pool], capacity: int) -> PoolUse:
    """Connections checked out of the engines' pools, against what they may hold together; pools
    without the count (SQLite's) read as 0."""
    in_use = 0
    for pool in pools:
        checkedout = getattr(pool, "checkedout", None)
        in_use += int(checkedout()) if callable(checkedout) else 0
    return PoolUse(in_use, capacity)


def prometheus_cache_totals() -> dict[str, tuple[float, float]]:
    """The process's cumulative cache hits and misses per data type, as persistence/cache.py counts them."""
    totals: dict[str, list[float]] = {}
    for position, counter in enumerate((CACHE_HITS, CACHE_MISSES)):
        for metric in counter.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    pair = totals.setdefault(sample.labels["data_type"], [0.0, 0.0])
                    pair[position] += sample.value
    return {data_type: (hits, misses) for data_type, (hits, misses) in totals.items()}


class OpsWindow:
    def __init__(
        self,
        seconds: int = 60,
        *,
        clock: Callable[[], float] = time.time,
        cache_totals: CacheTotals | None = None,
    ) -> None:
        self.seconds = seconds
        # Wall-clock seconds, so the slots of different processes cover the same seconds.
        self.clock = clock
        self.cache_totals = cache_totals
        self._slots: list[_Slot | None] = [None] * seconds
        self._cache_seen: dict[str, tuple[float, float]] = {}
        self._started = clock()
        self._pools: list[Pool] = []
        self._pool_capacity = 0

    def watch_pools(self, pools: Sequence[Pool], capacity: int) -> None:
        self._pools = list(pools)
        self._pool_capacity = capacity

    def _slot(self) -> _Slot:
        second = int(self.clock())
        index = second % self.seconds
        slot = self._slots[index]
        if slot is None or slot.second != second:
            slot = self._slots[index] = _Slot(second)
        return slot

    def record_request(self, op_class: str, seconds: float, error: bool) -> None:
        # str(): a StrEnum member (schema/guard/operation_class.py) as the plain key JSON needs.
        figures = self._slot().classes.setdefault(str(op_class), ClassFigures())
        figures.count += 1
        figures.errors += int(error)
        figures.buckets[bucket_index(seconds)] += 1

    def record_cache(self, data_type: str, hits: float, misses: float) -> None:
        pair = self._slot().cache.setdefault(data_type, [0.0, 0.0])
        pair[0] += hits
        pair[1] += misses

    def sample_cache(self) -> None:
        """Moves what the cache counted since the last sample into the current second."""
        if self.cache_totals is None:
            return
        for data_type, (hits, misses) in self.cache_totals().items():
            seen_hits, seen_misses = self._cache_seen.get(data_type, (0.0, 0.0))
            if hits > seen_hits or misses > seen_misses:
                self.record_cache(data_type, hits - seen_hits, misses - seen_misses)
            self._cache_seen[data_type] = (hits, misses)

    def _live_slots(self) -> Iterable[_Slot]:
        oldest = int(self.clock()) - self.seconds
        return (s for s in self._slots if s is not None and s.second > oldest)

    def snapshot(self) -> dict[str, Any]:
        """The window summed over its slots, as JSON-ready data (what each process publishes)."""
        self.sample_cache()
        classes: dict[str, ClassFigures] = {}
        cache: dict[str, list[float]] = {}
        for slot in self._live_slots():
            for name, figures in slot.classes.items():
                classes.setdefault(name, ClassFigures()).add(figures)
            for data_type, (hits, misses) in slot.cache.items():
                pair = cache.setdefault(data_type, [0.0, 0.0])
                pair[0] += hits
                pair[1] += misses
        now = self.clock()
        pool = pool_use(self._pools, self._pool_capacity) if self._pools else None
        return {
            "v": SNAPSHOT_VERSION,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "at": now,
            # A process younger than the window has seen less of it: its rate is over what it saw.
            "span": max(1.0, min(float(self.seconds), now - self._started)),
            "classes": {
                name: {"count": f.count, "errors": f.errors, "buckets": f.buckets}
                for name, f in classes.items()
            },
            "cache": cache,
            "pool": None if pool is None else {"in_use": pool.in_use, "size": pool.size},
        }


_process_window: OpsWindow | None = None


def process_window() -> OpsWindow:
    """This process's window (built on first use: a uvicorn worker is a process of its own)."""
    global _process_window  # noqa: PLW0603 - one window per process is the point
    if _process_window is None:
        _process_window = OpsWindow(cache_totals=prometheus_cache_totals)
    return _process_window


def record_request(op_class: str, seconds: float, error: bool) -> None:
    """One GraphQL request of this process: its operation class, how long it took, whether it failed."""
    process_window().record_request(op_class, seconds, error)
