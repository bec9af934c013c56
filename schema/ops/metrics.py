"""The `opsMetrics` types: live figures of every server process, each judged against the seed."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import ops as resolvers
from resolvers.ops_thresholds import Status
from schema.core.described import graphql_enum

graphql_enum(
    Status,
    name="OpsStatus",
    description="A figure against the seed's thresholds; NO_DATA: nothing to judge in the window.",
    values={
        "OK": "Within its target.",
        "WARNING": "Past its target, short of its alert threshold.",
        "CRITICAL": "Past its alert threshold.",
        "NO_DATA": "Nothing to judge in the window.",
    },
)


@strawberry.type(description="One operation class of the seed's latency table, over the last minute.")
class OpsClass:
    operation_class: str = strawberry.field(description="auth, read, write, list, search or upload.")
    count: int = strawberry.field(description="Requests of the class in the last minute.")
    errors: int = strawberry.field(description="5xx answers and INTERNAL_SERVER_ERROR errors.")
    p50: float | None = strawberry.field(description="Milliseconds; null without requests.")
    p95: float | None = strawberry.field(description="Milliseconds; null without requests.")
    p99: float | None = strawberry.field(description="Milliseconds; null without requests.")
    target_p95: float = strawberry.field(description="The seed's p95 for the class, in milliseconds.")
    status: Status = strawberry.field(description="Its p95 against the target.")

    @classmethod
    def from_row(cls, row: resolvers.ClassRow) -> OpsClass:
        return cls(
            operation_class=row.operation_class,
            count=row.count,
            errors=row.errors,
            p50=row.p50_ms,
            p95=row.p95_ms,
            p99=row.p99_ms,
            target_p95=row.target_p95_ms,
            status=row.status,
        )


@strawberry.type(description="An RQ queue's depth (jobs waiting) against the seed's target and alert.")
class OpsQueue:
    name: str = strawberry.field(description="The queue: high, default or low.")
    depth: int | None = strawberry.field(description="Null when Redis could not be read.")
    target: int = strawberry.field(description="The depth it should stay under.")
    alert: int = strawberry.field(description="The depth that raises an alert.")
    status: Status = strawberry.field(description="The depth against target and alert.")


@strawberry.type(description="Cache lookups of one data type over the last minute.")
class OpsCache:
    data_type: str = strawberry.field(
        description="The cached data type: user profiles, task pages, project lists..."
    )
    hits: int = strawberry.field(description="Lookups answered from Redis.")
    misses: int = strawberry.field(description="Lookups that read the database.")
    hit_rate: float | None = strawberry.field(description="0 to 1; null without lookups.")
    target: float = strawberry.field(description="The seed's hit rate target for the data type, 0 to 1.")
    status: Status = strawberry.field(description="The hit rate against its target.")


@strawberry.type(description="Database connections checked out, over every process.")
class OpsPool:
    in_use: int = strawberry.field(description="Connections checked out now, over every process.")
    size: int = strawberry.field(description="Pool size plus overflow, summed over the processes.")
    utilization: float | None = strawberry.field(
        description="0 to 1: the busiest process's pool (each process has its own)."
    )
    status: Status = strawberry.field(description="Utilization against its alert thresholds.")


@strawberry.type(description="The service's last minute, from every server process (through Redis).")
class OpsMetrics:
    at: datetime = strawberry.field(description="When the figures were taken.")
    processes: int = strawberry.field(description="Server processes whose figures are included.")
    request_rate: float = strawberry.field(description="GraphQL requests per second, all processes.")
    error_rate: float | None = strawberry.field(description="0 to 1; null without requests.")
    error_status: Status = strawberry.field(description="The error rate against its alert thresholds.")
    classes: list[OpsClass] = strawberry.field(description="Latency and errors per operation class.")
    queues: list[OpsQueue] = strawberry.field(description="The job queues' depths.")
    cache: list[OpsCache] = strawberry.field(description="Cache hits and misses per data type.")
    pool: OpsPool = strawberry.field(description="Database connections in use.")
    degraded: bool = strawberry.field(
        description="Redis could not be read: this process's figures alone, queues unknown."
    )

    @classmethod
    def from_figures(cls, figures: resolvers.OpsFigures) -> OpsMetrics:
        pool = figures.pool
        return cls(
            at=figures.at,
            processes=figures.processes,
            request_rate=figures.request_rate,
            error_rate=figures.error_rate,
            error_status=figures.error_status,
            classes=[OpsClass.from_row(row) for row in figures.classes],
            queues=[
                OpsQueue(name=q.name, depth=q.depth, target=q.target, alert=q.alert, status=q.status)
                for q in figures.queues
            ],
            cache=[
                OpsCache(
                    data_type=c.data_type,
                    hits=c.hits,
                    misses=c.misses,
                    hit_rate=c.hit_rate,
                    target=c.target,
                    status=c.status,
                )
                for c in figures.cache
            ],
            pool=OpsPool(
                in_use=pool.in_use, size=pool.size, utilization=pool.utilization, status=pool.status
            ),
            degraded=figures.degraded,
        )
