"""Live ops figures for platform operators: the generator behind `opsMetrics`, and the aggregation.

Every process publishes its last minute to Redis (persistence/ops_publisher.py); a tick reads them
all, puts this process's own fresh window in place of its published copy, adds the histograms up
bucket by bucket, reads the RQ queues' depths, and judges each figure against the seed's thresholds
(resolvers/ops_thresholds.py). With Redis unavailable a tick shows this process's window alone and
says so (``degraded``); the queues then read NO_DATA.

Service-wide figures are for operators only: the operator flag is checked at subscribe time
(FORBIDDEN) and again, with the token and its session, before every tick, so an account that loses
the flag (or signs out) stops receiving at the next tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from rq import Queue

from jobs.queues import QUEUE_NAMES
from persistence.ops_publisher import process_key, read_snapshots
from persistence.ops_window import ClassFigures, OpsWindow, percentile, process_window
from resolvers.context import Services
from resolvers.errors import BadUserInput, Forbidden
from resolvers.ops_thresholds import (
    LATENCY_TARGETS,
    QUEUE_TARGETS,
    UNRATED_CACHE_TYPES,
    Status,
    cache_status,
    cache_target,
    error_rate_status,
    latency_status,
    pool_status,
    queue_status,
)
from resolvers.subscriptions import ConnectionContext, event_context

MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS = 1, 60


@dataclass(frozen=True)
class ClassRow:
    operation_class: str
    count: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    target_p95_ms: float
    status: Status


@dataclass(frozen=True)
class QueueRow:
    name: str
    depth: int | None
    target: int
    alert: int
    status: Status


@dataclass(frozen=True)
class CacheRow:
    data_type: str
    hits: int
    misses: int
    hit_rate: float | None
    target: float
    status: Status


@dataclass(frozen=True)
class PoolRow:
    in_use: int
    size: int
    utilization: float | None
    status: Status


@dataclass(frozen=True)
class OpsFigures:
    at: datetime
    processes: int
    request_rate: float
    error_rate: float | None
    error_status: Status
    classes: list[ClassRow]
    queues: list[QueueRow]
    cache: list[CacheRow]
    pool: PoolRow
    degraded: bool


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _class_rows(merged: dict[str, ClassFigures]) -> list[ClassRow]:
    rows = []
    for name, target in LATENCY_TARGETS.items():
        figures = merged.get(name, ClassFigures())
        p95 = _ms(percentile(figures.buckets, 0.95))
        rows.append(
            ClassRow(
                name,
                figures.count,
                figures.errors,
                _ms(percentile(figures.buckets, 0.50)),
                p95,
                _ms(percentile(figures.buckets, 0.99)),
                target.p95_ms,
                latency_status(name, p95),
            )
        )
    return rows


def _cache_rows(snapshots: Iterable[dict[str, Any]]) -> list[CacheRow]:
    totals: dict[str, list[float]] = {}
    for snapshot in snapshots:
        for data_type, (hits, misses) in snapshot["cache"].items():
            pair = totals.setdefault(data_type, [0.0, 0.0])
            pair[0] += hits
            pair[1] += misses
    rows = []
    for data_type, (hits, misses) in sorted(totals.items()):
        if data_type in UNRATED_CACHE_TYPES:
            continue
        rate = hits / (hits + misses) if hits + misses else None
        rows.append(
            CacheRow(
                data_type,
                int(hits),
                int(misses),
                rate,
                cache_target(data_type),
                cache_status(data_type, rate),
            )
        )
    return rows


def _pool_row(snapshots: Iterable[dict[str, Any]]) -> PoolRow:
    """Summed over the processes; utilization (and so the flag) is the busiest process's, since
    each process has a pool of its own and one full pool makes its requests wait."""
    pools = [s["pool"] for s in snapshots if s.get("pool")]
    in_use = sum(p["in_use"] for p in pools)
    size = sum(p["size"] for p in pools)
    utilization = max((p["in_use"] / p["size"] for p in pools if p["size"]), default=None)
    return PoolRow(in_use, size, utilization, pool_status(utilization))


def aggregate(
    snapshots: list[dict[str, Any]], depths: dict[str, int] | None, *, degraded: bool
) -> OpsFigures:
    """The processes' snapshots and the queues' depths (None: unread) as judged figures."""
    merged: dict[str, ClassFigures] = {}
    request_rate = 0.0
    for snapshot in snapshots:
        count = 0
        for name, raw in snapshot["classes"].items():
            figures = ClassFigures(raw["count"], raw["errors"], list(raw["buckets"]))
            merged.setdefault(name, ClassFigures()).add(figures)
            count += figures.count
        request_rate += count / snapshot["span"]
    total = sum(f.count for f in merged.values())
    errors = sum(f.errors for f in merged.values())
    error_rate = errors / total if total else None
    queues = [
        QueueRow(
            name,
            None if depths is None else depths.get(name, 0),
            target.target,
            target.alert,
            queue_status(name, None if depths is None else depths.get(name, 0)),
        )
        for name, target in QUEUE_TARGETS.items()
    ]
    return OpsFigures(
        at=datetime.now(UTC),
        processes=len(snapshots),
        request_rate=round(request_rate, 3),
        error_rate=error_rate,
        error_status=error_rate_status(error_rate),
        classes=_class_rows(merged),
        queues=queues,
        cache=_cache_rows(snapshots),
        pool=_pool_row(snapshots),
        degraded=degraded,
    )


async def _queue_depths(services: Services) -> dict[str, int]:
    async with services.cache.redis.pipeline(transaction=False) as pipe:
        for name in QUEUE_NAMES:
            pipe.llen(Queue.redis_queue_namespace_prefix + name)
        lengths: list[int] = await pipe.execute()
    return dict(zip(QUEUE_NAMES, lengths, strict=True))


async def current_figures(services: Services, window: OpsWindow | None = None) -> OpsFigures:
    """Every live process's figures through Redis; this process's alone when Redis does not answer."""
    window = window or process_window()
    settings = services.settings
    prefix = settings.redis_channel_prefix
    local = window.snapshot()
    breaker = services.cache.breaker
    if breaker.allows():
        try:
            async with breaker.waiting():
                published = await read_snapshots(
                    services.cache.redis, prefix, settings.ops_snapshot_ttl_seconds
                )
                depths = await _queue_depths(services)
        except (RedisError, OSError):
            breaker.record_failure()
        else:
            breaker.record_success()
            published[process_key(prefix)] = local  # fresher than what this process published
            return aggregate(list(published.values()), depths, degraded=False)
    return aggregate([local], None, degraded=True)


async def _require_operator(conn: ConnectionContext) -> None:
    """The token and its session checked again (UNAUTHENTICATED), then the operator flag."""
    principal = (await event_context(conn)).require_principal()
    if not principal.is_operator:
        raise Forbidden("live ops figures are for platform operators only")


async def ops_metrics(conn: ConnectionContext, interval_seconds: int) -> AsyncGenerator[OpsFigures, None]:
    """Checks the interval and the operator at subscribe time, then a tick every interval, the
    first at once."""
    if not MIN_INTERVAL_SECONDS <= interval_seconds <= MAX_INTERVAL_SECONDS:
        raise BadUserInput(
            f"intervalSeconds must be from {MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS}",
            argument="intervalSeconds",
        )
    await _require_operator(conn)
    return _ticks(conn, interval_seconds)


async def _ticks(conn: ConnectionContext, interval_seconds: int) -> AsyncGenerator[OpsFigures, None]:
    first = True
    while True:
        if not first:
            await _require_operator(conn)
        first = False
        yield await current_figures(conn.services)
        await asyncio.sleep(interval_seconds)
