"""Attempt counters: all or nothing across counters, a window per counter, on Redis and its stand-in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import fakeredis
import pytest
from redis.asyncio import Redis

from persistence.attempts import AttemptCounters, AttemptLimit
from persistence.redis import create_redis
from persistence.redis_breaker import RedisBreaker
from tests import services as test_services
from tests.conftest import make_settings


@pytest.fixture(params=["redis", "embedded"])
async def redis(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Redis]:
    if request.param == "redis":
        client: Redis = create_redis(make_settings(redis_url=test_services.REDIS_URL))
    else:
        client = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    yield client
    await client.aclose()


async def test_a_refusal_counts_on_no_counter(redis: Redis) -> None:
    # Given two counters, the first allowing 2 attempts a minute and the second 5 an hour
    counters = AttemptCounters(
        redis, RedisBreaker(1.0).view("login throttling"), key_prefix=f"attempts-{uuid.uuid4().hex}"
    )
    limits = [AttemptLimit("email:a", 2, 60), AttemptLimit("address:b", 5, 3600)]
    # When three attempts are made
    waits = [await counters.take(limits) for _ in range(3)]
    # Then two are counted and the third waits for the first window, about a minute
    assert waits[:2] == [0, 0]
    assert 55 <= waits[2] <= 60
    # And the refusal counted nothing on the second counter: 3 more fit there once the first allows
    waits = [await counters.take(limits[1:]) for _ in range(4)]
    assert waits[:3] == [0, 0, 0]
    assert 3590 <= waits[3] <= 3600
    # And the counters' keys expire with their windows
    assert 0 < await redis.pttl(f"{counters.key_prefix}:email:a") <= 60_000


async def test_given_back_and_cleared_attempts_no_longer_count(redis: Redis) -> None:
    # Given a counter allowing 2 attempts, both taken
    counters = AttemptCounters(
        redis, RedisBreaker(1.0).view("login throttling"), key_prefix=f"attempts-{uuid.uuid4().hex}"
    )
    limit = [AttemptLimit("k", 2, 60)]
    assert [await counters.take(limit), await counters.take(limit)] == [0, 0]
    # When one is given back, one more fits
    await counters.give_back("k")
    assert await counters.take(limit) == 0
    assert await counters.take(limit) > 0
    # When the counter is cleared, it starts afresh and its key is gone
    await counters.clear("k")
    assert await redis.exists(f"{counters.key_prefix}:k") == 0
    assert await counters.take(limit) == 0
    # And giving back more than was taken leaves no key behind (no negative count to spend later)
    await counters.give_back("k")
    await counters.give_back("k")
    assert await redis.exists(f"{counters.key_prefix}:k") == 0
