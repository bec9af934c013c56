"""The leaky bucket: charged and refunded atomically in Redis, shared by processes, failing open."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import fakeredis
import pytest
from redis.asyncio import Redis

from perf.shared.private_redis import PrivateRedis
from persistence.ratelimit import REFUND_DELAY_SECONDS, CostLimiter
from persistence.redis import create_redis
from persistence.redis_breaker import BreakerView, RedisBreaker
from tests import services as test_services
from tests.conftest import make_settings


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client: Redis = create_redis(make_settings(redis_url=test_services.REDIS_URL))
    yield client
    await client.aclose()


def _breaker() -> BreakerView:
    return RedisBreaker(5.0).view("rate limiter")


@pytest.fixture
def principal() -> str:
    """A bucket of this test's own on the shared server (which keeps what earlier runs left)."""
    return f"user:test-{uuid.uuid4().hex}"


async def test_charges_drain_the_bucket_until_one_is_refused(redis: Redis, principal: str) -> None:
    # Given a bucket of 10 points that refills slowly (one point a minute)
    limiter = CostLimiter(redis, _breaker())
    rate = 1 / 60
    # When 3 points are charged three times
    states = [await limiter.charge(principal, 3, capacity=10, restore_rate=rate) for _ in range(3)]
    # Then each is allowed and the remaining points go down
    assert [s.allowed for s in states] == [True, True, True]
    assert [s.remaining for s in states] == [7, 4, 1]
    assert all(s.limit == 10 and s.retry_after_seconds == 0 for s in states)
    # When a fourth charge of 3 finds 1 point left
    refused = await limiter.charge(principal, 3, capacity=10, restore_rate=rate)
    # Then it is refused, takes nothing, and says when 3 points will be there (2 more at 1 a minute)
    assert not refused.allowed
    assert refused.remaining == 1
    assert 110 <= refused.retry_after_seconds <= 120
    assert 530 <= refused.reset_seconds <= 540
    # And a charge that fits the point left still passes
    assert (await limiter.charge(principal, 1, capacity=10, restore_rate=rate)).remaining == 0


async def test_the_bucket_refills_over_time(redis: Redis, principal: str) -> None:
    # Given an emptied bucket that refills at 1000 points a second
    limiter = CostLimiter(redis, _breaker())
    drained = await limiter.charge(principal, 100, capacity=100, restore_rate=1000)
    assert drained.allowed
    assert drained.remaining == 0
    # When 50 ms have passed
    await asyncio.sleep(0.05)
    # Then at least 40 points came back (the clock may run a little ahead, never behind)
    again = await limiter.charge(principal, 40, capacity=100, restore_rate=1000)
    assert again.allowed


async def test_a_refund_gives_points_back_up_to_the_capacity(redis: Redis, principal: str) -> None:
    # Given a bucket charged 8 of 10 points
    limiter = CostLimiter(redis, _breaker())
    rate = 1 / 3600
    await limiter.charge(principal, 8, capacity=10, restore_rate=rate)
    # When 5 are refunded
    refunded = await limiter.refund(principal, 5, capacity=10, restore_rate=rate)
    # Then 7 are left
    assert refunded.allowed
    assert refunded.remaining == 7
    # And a refund beyond the capacity stops at the capacity, leaving no key behind (a full bucket)
    full = await limiter.refund(principal, 50, capacity=10, restore_rate=rate)
    assert full.remaining == 10
    assert full.reset_seconds == 0
    assert await redis.exists(f"ratelimit:{principal}") == 0


async def test_a_bucket_key_expires_when_the_bucket_would_be_full(redis: Redis, principal: str) -> None:
    # Given a bucket charged 5 of 10 points at 1 point a second
    limiter = CostLimiter(redis, _breaker(), key_prefix="rl-test")
    state = await limiter.charge(principal, 5, capacity=10, restore_rate=1)
    # Then its key expires in about the 5 s the bucket needs to be full again
    ttl_ms = await redis.pttl(f"rl-test:{principal}")
    assert 4000 < ttl_ms <= 5001
    assert 4.9 < state.reset_seconds <= 5


async def test_two_limiters_share_one_bucket(redis: Redis, principal: str) -> None:
    # Given two limiters, as two server processes hold them, on one Redis
    first, second = CostLimiter(redis, _breaker()), CostLimiter(redis, _breaker())
    rate = 1 / 60
    # When one charges 6 of 10 points
    await first.charge(principal, 6, capacity=10, restore_rate=rate)
    # Then the other sees only 4 left and refuses 5
    refused = await second.charge(principal, 5, capacity=10, restore_rate=rate)
    assert not refused.allowed
    assert refused.remaining == 4


async def test_a_later_refund_goes_with_the_next_charge_or_on_its_own(redis: Redis, principal: str) -> None:
    # Given a bucket of 10 points charged 8, and 5 of them refunded later
    limiter, other = CostLimiter(redis, _breaker()), CostLimiter(redis, _breaker())
    rate = 1 / 60
    charged = await limiter.charge(principal, 8, capacity=10, restore_rate=rate)
    answered = limiter.refund_later(principal, 5, charged)
    # Then the answer already counts the refund
    assert (answered.allowed, answered.remaining) == (True, 7)
    # When the same limiter charges 6 at once (the refund has not been sent yet)
    assert (await other.charge(principal, 0, capacity=10, restore_rate=rate)).remaining == 2
    folded = await limiter.charge(principal, 6, capacity=10, restore_rate=rate)
    # Then the refund came back first, in that charge: 2 + 5 - 6
    assert (folded.allowed, folded.remaining) == (True, 1)
    # And a refund no charge follows reaches Redis on its own within the delay
    limiter.refund_later(principal, 4, folded)
    await asyncio.sleep(REFUND_DELAY_SECONDS + 0.2)
    assert (await other.charge(principal, 0, capacity=10, restore_rate=rate)).remaining == 5


async def test_the_script_runs_on_the_embedded_stand_in() -> None:
    # Given the embedded default's in-process Redis
    client = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    limiter = CostLimiter(client, _breaker())
    # When a bucket is drained, refused and refunded
    assert (await limiter.charge("apikey:7", 4, capacity=5, restore_rate=0.01)).remaining == 1
    refused = await limiter.charge("apikey:7", 2, capacity=5, restore_rate=0.01)
    refunded = await limiter.refund("apikey:7", 3, capacity=5, restore_rate=0.01)
    # Then it answers as Redis does
    assert not refused.allowed
    assert refused.remaining == 1
    assert refunded.remaining == 4
    assert 0 < await client.pttl("ratelimit:apikey:7") <= 100_000
    await client.aclose()


async def test_with_redis_down_buckets_of_the_process_answer_and_the_outage_is_logged_once(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a limiter on a Redis of its own with a short breaker cooldown, and a charge made there
    client: Redis = create_redis(make_settings(redis_url=private_redis.url, redis_socket_timeout=0.2))
    limiter = CostLimiter(client, RedisBreaker(0.05).view("rate limiter"))
    rate = 1 / 60
    assert (await limiter.charge("user:1", 2, capacity=5, restore_rate=rate)).remaining == 3
    # When the server is stopped
    private_redis.kill()
    with caplog.at_level(logging.INFO, logger="persistence.redis_breaker"):
        # Then charges still answer, from a bucket of this process (full: it never saw Redis's)
        states = []
        for _ in range(3):
            states.append(await limiter.charge("user:1", 2, capacity=5, restore_rate=rate))
            await asyncio.sleep(0.06)  # past the cooldown: each charge tries Redis again
        assert [(s.allowed, s.remaining) for s in states] == [(True, 3), (True, 1), (False, 1)]
        # And one warning told of the outage, however many charges failed over
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "noticed by rate limiter" in warnings[0].getMessage()
        # When the server is back (empty, as after a crash) and the cooldown has passed
        private_redis.restart()
        await asyncio.sleep(0.06)
        back = await limiter.charge("user:1", 1, capacity=5, restore_rate=rate)
    # Then the charge is Redis's again: a fresh bucket there, and one info line says so
    assert back.allowed
    assert back.remaining == 4
    assert await client.exists("ratelimit:user:1") == 1
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 1
    assert infos[0].startswith("Redis available again (noticed by rate limiter)")
    await client.aclose()


async def test_a_bucket_without_capacity_or_restore_rate_is_a_programming_error(
    redis: Redis, principal: str
) -> None:
    limiter = CostLimiter(redis, _breaker())
    for capacity, rate in ((0, 1.0), (10, 0.0)):
        with pytest.raises(ValueError, match="positive capacity and restore rate"):
            await limiter.charge(principal, 1, capacity=capacity, restore_rate=rate)
    # And nothing was written for the principal
    assert await redis.exists(f"ratelimit:{principal}") == 0
