"""``db_pool_connections{state}`` of the API engine's pool, kept at every checkout and checkin.

``in_use`` moves by one per event, so it is exact (and sums across processes); ``idle`` and
``overflow`` are the pool's own counts, sampled at the same events. ``db_pool_capacity`` (pool size
plus overflow) is what the utilization alert divides by.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from persistence.metrics import DB_POOL_CAPACITY, DB_POOL_CONNECTIONS


def install_pool_metrics(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return  # SQLite's pools and NullPool hold no connections worth counting
    DB_POOL_CAPACITY.inc(pool.size() + max(0, pool._max_overflow))  # no public accessor
    in_use = DB_POOL_CONNECTIONS.labels("in_use")
    idle = DB_POOL_CONNECTIONS.labels("idle")
    overflow = DB_POOL_CONNECTIONS.labels("overflow")

    def sample() -> None:
        idle.set(pool.checkedin())
        overflow.set(max(0, pool.overflow()))

    def checkout(*_args: Any) -> None:
        in_use.inc()
        sample()

    def checkin(*_args: Any) -> None:
        in_use.dec()
        sample()

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
