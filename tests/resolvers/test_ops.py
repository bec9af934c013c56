"""Live ops figures: every process's window through Redis, merged, and judged against the seed."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from redis.asyncio import Redis
from rq import Queue

from perf.shared.local_processes import free_port
from persistence.cache import Cache
from persistence.ops_publisher import OpsPublisher, process_key, publish, read_snapshots
from persistence.ops_window import OpsWindow
from persistence.redis_breaker import RedisBreaker
from resolvers.context import Services
from resolvers.ops import current_figures
from resolvers.ops_thresholds import (
    Status,
    cache_status,
    error_rate_status,
    latency_status,
    pool_status,
    queue_status,
)
from tests.conftest import make_settings

_prefixes = itertools.count()
TTL = 5


@pytest.fixture
async def ops_services(services: Services) -> AsyncIterator[Services]:
    """The suite's services under a key prefix of this test's own (no other process's figures)."""
    prefix = f"ops-test-{os.getpid()}-{next(_prefixes)}"
    yield replace(services, settings=make_settings(redis_channel_prefix=prefix))
    keys = [key async for key in services.cache.redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await services.cache.redis.delete(*keys)


def _window(requests: list[tuple[str, float, bool]]) -> OpsWindow:
    window = OpsWindow(60)
    for op_class, seconds, error in requests:
        window.record_request(op_class, seconds, error)
    return window


async def test_figures_add_up_over_every_process_and_percentiles_come_from_the_merged_histogram(
    ops_services: Services,
) -> None:
    # Given two other processes: one with 90 fast reads, one with 10 slow reads (one of them failed)
    redis, prefix = ops_services.cache.redis, ops_services.settings.redis_channel_prefix
    fast = _window([("read", 0.03, False)] * 90)
    slow = _window([("read", 0.45, False)] * 9 + [("read", 0.45, True), ("write", 0.1, False)])
    await publish(redis, prefix, fast, TTL, process_key(prefix, "host-a", 1))
    await publish(redis, prefix, slow, TTL, process_key(prefix, "host-b", 2))
    # and this process, which saw one list request
    local = _window([("list", 0.2, False)])

    # When the figures are read
    figures = await current_figures(ops_services, local)

    # Then all three processes count
    assert not figures.degraded
    assert figures.processes == 3
    read = next(c for c in figures.classes if c.operation_class == "read")
    assert (read.count, read.errors) == (100, 1)
    # p50 lies among the fast ones, p95 among the slow ones: neither process alone would say so
    assert read.p50_ms is not None
    assert read.p50_ms <= 50
    assert read.p95_ms is not None
    assert 400 < read.p95_ms <= 500
    # 450 ms is past the read p95 (200 ms) and within its p99 (500 ms)
    assert read.status is Status.WARNING
    assert next(c for c in figures.classes if c.operation_class == "list").count == 1
    assert next(c for c in figures.classes if c.operation_class == "search").status is Status.NO_DATA
    assert figures.error_rate == pytest.approx(1 / 102)
    assert figures.error_status is Status.WARNING
    assert {q.name: q.status for q in figures.queues} == {
        "high": Status.OK,
        "default": Status.OK,
        "low": Status.OK,
    }


async def test_queue_depths_are_read_from_the_rq_queues(ops_services: Services) -> None:
    # Given 60 jobs' ids waiting on a high queue of a Redis database of this test's own
    redis = ops_services.cache.redis
    key = Queue.redis_queue_namespace_prefix + "high"
    saved = await redis.lrange(key, 0, -1)
    await redis.delete(key)
    await redis.rpush(key, *[f"job-{n}" for n in range(60)])
    try:
        # When the figures are read; then the queue is past its alert (50)
        figures = await current_figures(ops_services, OpsWindow(60))
        high = next(q for q in figures.queues if q.name == "high")
        assert (high.depth, high.target, high.alert, high.status) == (60, 10, 50, Status.CRITICAL)
    finally:
        await redis.delete(key)
        if saved:
            await redis.rpush(key, *saved)


async def test_a_stopped_process_drops_out_at_once(ops_services: Services) -> None:
    redis, prefix = ops_services.cache.redis, ops_services.settings.redis_channel_prefix
    publisher = OpsPublisher(redis, prefix, _window([("read", 0.01, False)]), 0.05, TTL)
    publisher.key = process_key(prefix, "host-c", 3)
    publisher.start()
    try:
        for _ in range(50):
            if await read_snapshots(redis, prefix, TTL):
                break
            await asyncio.sleep(0.02)
        assert list(await read_snapshots(redis, prefix, TTL)) == [publisher.key]
    finally:
        await publisher.stop()
    assert await read_snapshots(redis, prefix, TTL) == {}


async def test_with_redis_down_the_figures_are_this_process_s_alone_and_say_so(services: Services) -> None:
    # Given a cache whose Redis does not answer (nothing listens on the port)
    dead = Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.2, socket_connect_timeout=0.2
    )
    down = replace(services, cache=Cache(dead, RedisBreaker(5.0).view("cache")))
    try:
        # When the figures are read
        figures = await current_figures(down, _window([("auth", 0.05, False)] * 3))
    finally:
        await dead.aclose()
    # Then they are this process's, flagged degraded, with the queues unknown
    assert figures.degraded
    assert figures.processes == 1
    assert next(c for c in figures.classes if c.operation_class == "auth").count == 3
    assert {q.depth for q in figures.queues} == {None}
    assert {q.status for q in figures.queues} == {Status.NO_DATA}


@pytest.mark.parametrize(
    ("p95_ms", "expected"),
    [(200.0, Status.OK), (200.1, Status.WARNING), (500.0, Status.WARNING), (500.1, Status.CRITICAL)],
)
def test_latency_is_judged_against_the_class_s_p95_and_p99(p95_ms: float, expected: Status) -> None:
    assert latency_status("read", p95_ms) is expected


@pytest.mark.parametrize(
    ("depth", "expected"),
    [(9, Status.OK), (10, Status.WARNING), (50, Status.WARNING), (51, Status.CRITICAL)],
)
def test_queue_depth_is_judged_against_target_and_alert(depth: int, expected: Status) -> None:
    assert queue_status("high", depth) is expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0.96, Status.OK), (0.95, Status.WARNING), (0.70, Status.WARNING), (0.69, Status.CRITICAL)],
)
def test_cache_hit_rate_is_judged_against_its_target_and_the_70_percent_alert(
    rate: float, expected: Status
) -> None:
    assert cache_status("session", rate) is expected


@pytest.mark.parametrize(
    ("utilization", "expected"),
    [(0.69, Status.OK), (0.70, Status.WARNING), (0.80, Status.WARNING), (0.81, Status.CRITICAL)],
)
def test_pool_utilization_is_judged_against_70_and_80_percent(utilization: float, expected: Status) -> None:
    assert pool_status(utilization) is expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0.001, Status.OK), (0.0011, Status.WARNING), (0.01, Status.WARNING), (0.0101, Status.CRITICAL)],
)
def test_error_rate_is_judged_against_the_seed_s_targets(rate: float, expected: Status) -> None:
    assert error_rate_status(rate) is expected
