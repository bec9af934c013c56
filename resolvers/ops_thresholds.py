"""The service-level targets (docs/slo.md) and how each live figure is judged against them.

- Latency per operation class: OK while p95 is within the seed's p95; WARNING above it; CRITICAL once
  p95 passes the seed's p99 for the class (the slow tail has become the typical request).
- Queue depth: OK below the target depth, WARNING from the target up to the alert threshold, CRITICAL
  above the alert threshold.
- Cache hit rate per data type: OK above the data type's target, WARNING below it, CRITICAL under the
  70% alert. Data types the seed does not list are held to its general cache target (85%).
- DB pool utilization: OK below the 70% target, WARNING up to the 80% alert, CRITICAL above it.
- Error rate (5xx and INTERNAL errors): OK up to the seed's 0.1% 5xx target, WARNING above it,
  CRITICAL above 1%.
Nothing to judge (no request of a class in the window, Redis unread): NO_DATA.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jobs.queues import DEFAULT, HIGH, LOW


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    NO_DATA = "no_data"


@dataclass(frozen=True)
class LatencyTarget:
    p50_ms: float
    p95_ms: float
    p99_ms: float


# "Latency (Response Time)", per the classes of schema/guard/operation_class.py.
LATENCY_TARGETS: dict[str, LatencyTarget] = {
    "auth": LatencyTarget(50, 120, 200),
    "read": LatencyTarget(80, 200, 500),
    "write": LatencyTarget(120, 300, 800),
    "list": LatencyTarget(150, 400, 1000),
    "search": LatencyTarget(200, 600, 1500),
    "upload": LatencyTarget(500, 2000, 5000),
}


@dataclass(frozen=True)
class QueueTarget:
    target: int
    alert: int


# "Queue Depth Targets", under the RQ queues' names.
QUEUE_TARGETS: dict[str, QueueTarget] = {
    HIGH: QueueTarget(10, 50),
    DEFAULT: QueueTarget(100, 500),
    LOW: QueueTarget(500, 2000),
}

# "Cache Hit Rate Targets", under the data types persistence/cache.py counts by (with the names a
# profile, a project's metadata or a task list page may be counted under).
CACHE_TARGETS: dict[str, float] = {
    "session": 0.95,
    "user": 0.90,
    "user_profile": 0.90,
    "project": 0.85,
    "project_metadata": 0.85,
    "task_list": 0.80,
    "permission": 0.90,
}
# "Cache (ElastiCache)": the general hit rate target, and the alert below which a cache is failing.
GENERAL_CACHE_TARGET = 0.85
CACHE_ALERT = 0.70
# Lookups whose miss is the normal answer, so a hit rate says nothing about the cache's health: an
# Idempotency-Key is looked up to find a replay (most requests are not one), and an APQ hash misses
# once by protocol before its text is registered.
UNRATED_CACHE_TYPES = frozenset({"idempotency", "apq"})

POOL_TARGET = 0.70
POOL_ALERT = 0.80
ERROR_RATE_TARGET = 0.001
ERROR_RATE_ALERT = 0.01


def latency_status(op_class: str, p95_ms: float | None) -> Status:
    target = LATENCY_TARGETS[op_class]
    if p95_ms is None:
        return Status.NO_DATA
    if p95_ms > target.p99_ms:
        return Status.CRITICAL
    return Status.WARNING if p95_ms > target.p95_ms else Status.OK


def queue_status(name: str, depth: int | None) -> Status:
    target = QUEUE_TARGETS[name]
    if depth is None:
        return Status.NO_DATA
    if depth > target.alert:
        return Status.CRITICAL
    return Status.WARNING if depth >= target.target else Status.OK


def cache_target(data_type: str) -> float:
    return CACHE_TARGETS.get(data_type, GENERAL_CACHE_TARGET)


def cache_status(data_type: str, hit_rate: float | None) -> Status:
    if hit_rate is None:
        return Status.NO_DATA
    if hit_rate < CACHE_ALERT:
        return Status.CRITICAL
    return Status.OK if hit_rate > cache_target(data_type) else Status.WARNING


def pool_status(utilization: float | None) -> Status:
    if utilization is None:
        return Status.NO_DATA
    if utilization > POOL_ALERT:
        return Status.CRITICAL
    return Status.OK if utilization < POOL_TARGET else Status.WARNING


def error_rate_status(error_rate: float | None) -> Status:
    if error_rate is None:
        return Status.NO_DATA
    if error_rate > ERROR_RATE_ALERT:
        return Status.CRITICAL
    return Status.WARNING if error_rate > ERROR_RATE_TARGET else Status.OK
