"""The cache fails open and never lets an older copy outlive the write that replaced it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from perf.shared.private_redis import PrivateRedis
from persistence.cache import Cache
from persistence.redis import create_redis
from persistence.redis_breaker import RedisBreaker
from tests.conftest import make_settings


@pytest.fixture
async def cache(private_redis: PrivateRedis) -> AsyncIterator[Cache]:
    client: Redis = create_redis(make_settings(redis_url=private_redis.url, redis_socket_timeout=0.2))
    yield Cache(client, RedisBreaker(0.05).view("cache"))
    await client.aclose()


async def test_a_fill_never_replaces_a_newer_entry(cache: Cache) -> None:
    # Given a write that replaced the entry (a logout's revoked copy)
    await cache.overwrite_json("session:s1", {"revoked": True}, 60)
    # When a reader that raced with it fills what it read before the write
    await cache.fill_json("session:s1", {"revoked": False}, 60)
    # Then the newer entry stands
    assert await cache.get_json("session", "session:s1") == {"revoked": True}


async def test_a_miss_is_filled(cache: Cache) -> None:
    await cache.fill_json("session:s2", {"n": 1}, 60)
    assert await cache.get_json("session", "session:s2") == {"n": 1}


async def test_an_overwrite_lost_to_an_outage_is_replayed_when_redis_answers(
    cache: Cache, private_redis: PrivateRedis
) -> None:
    # Given a cached entry, and then Redis frozen (SIGSTOP) while a write replaces the entry
    await cache.fill_json("session:s3", {"revoked": False}, 60)
    private_redis.freeze()
    await cache.overwrite_json("session:s3", {"revoked": True}, 60)
    # Then reads fail open (a miss, quickly) while it is frozen
    assert await cache.get_json("session", "session:s3") is None
    # When Redis answers again
    private_redis.thaw()
    cache.breaker.record_success()
    # Then the lost overwrite is applied before anything else is read
    assert await cache.get_json("session", "session:s3") == {"revoked": True}
