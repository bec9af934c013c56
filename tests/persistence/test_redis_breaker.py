"""The process's one Redis breaker: a failure met by any user opens it for all, past the cooldown a single
probe goes to Redis, its success closes it; an outage is counted and logged once, naming who noticed."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from perf.shared.private_redis import PrivateRedis
from persistence.attempts import AttemptCounters, AttemptLimit
from persistence.cache import Cache
from persistence.ratelimit import CostLimiter
from persistence.redis import create_redis
from persistence.redis_breaker import RedisBreaker
from tests.conftest import make_settings

COOLDOWN = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _openings(subject: str) -> float:
    return REGISTRY.get_sample_value("redis_breaker_openings_total", {"subject": subject}) or 0.0


def _open_gauge() -> float | None:
    return REGISTRY.get_sample_value("redis_breaker_open")


def test_one_user_s_failure_opens_it_for_every_user(caplog: pytest.LogCaptureFixture) -> None:
    breaker = RedisBreaker(COOLDOWN, clock=Clock())
    cache, limiter = breaker.view("cache"), breaker.view("rate limiter")
    before = _openings("rate limiter")
    with caplog.at_level(logging.INFO, logger="persistence.redis_breaker"):
        # When the rate limiter meets a timeout, and meets another before the cooldown is over
        limiter.record_failure()
        limiter.record_failure()
    # Then the cache skips Redis too, without having met anything
    assert not cache.allows()
    assert not limiter.allows()
    assert cache.is_open
    # And the outage is counted once, by who noticed it, and shown open
    assert _openings("rate limiter") == before + 1
    assert _open_gauge() == 1
    [warning] = caplog.records
    assert warning.levelno == logging.WARNING
    assert "noticed by rate limiter" in warning.getMessage()


def test_past_the_cooldown_one_probe_goes_and_its_success_closes_it(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    breaker = RedisBreaker(COOLDOWN, clock=clock)
    cache, attempts = breaker.view("cache"), breaker.view("login throttling")
    cache.record_failure()
    # When the cooldown has passed
    clock.now += COOLDOWN
    assert not cache.is_open
    # Then one caller is let through, the probe; the others keep skipping Redis meanwhile
    assert attempts.allows()
    assert not cache.allows()
    assert not attempts.allows()
    assert cache.is_open
    # When the probe succeeds, every user goes to Redis again
    with caplog.at_level(logging.INFO, logger="persistence.redis_breaker"):
        attempts.record_success()
        attempts.record_success()
    assert cache.allows()
    assert cache.allows()
    assert attempts.is_closed
    assert _open_gauge() == 0
    # And the recovery is logged once, naming who found Redis back
    [info] = [record for record in caplog.records if record.levelno == logging.INFO]
    assert info.getMessage() == "Redis available again (noticed by login throttling) after 5.0 s"


def test_a_failed_probe_opens_it_again_and_a_lost_one_is_replaced(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    breaker = RedisBreaker(COOLDOWN, clock=clock)
    relay = breaker.view("relay")
    before = _openings("relay")
    with caplog.at_level(logging.INFO, logger="persistence.redis_breaker"):
        relay.record_failure()
        clock.now += COOLDOWN
        # When the probe fails, Redis is skipped for another whole cooldown
        assert relay.allows()
        relay.record_failure()
        clock.now += COOLDOWN - 0.1
        assert not relay.allows()
        clock.now += 0.1
        # When the next probe never reports (its request was cancelled), another goes a cooldown later
        assert relay.allows()
        clock.now += COOLDOWN - 0.1
        assert not relay.allows()
        clock.now += 0.1
        assert relay.allows()
    # And all of it is one outage: counted once, one warning and no recovery yet
    assert _openings("relay") == before + 1
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert breaker.is_open


async def test_a_timeout_met_by_one_user_spares_the_others_their_own(private_redis: PrivateRedis) -> None:
    # Given a cache, a rate limiter and login counters sharing one breaker, on a Redis that answers
    timeout = 0.5
    client: Redis = create_redis(make_settings(redis_url=private_redis.url, redis_socket_timeout=timeout))
    breaker = RedisBreaker(COOLDOWN)
    cache = Cache(client, breaker.view("cache"))
    limiter = CostLimiter(client, breaker.view("rate limiter"))
    attempts = AttemptCounters(client, breaker.view("login throttling"))
    await cache.fill_json("k", 1, 60)
    try:
        # When Redis freezes, and the rate limiter asks it while a cache read is already waiting
        private_redis.freeze()
        started = time.monotonic()
        read = asyncio.create_task(cache.get_json("test", "k"))
        await asyncio.sleep(0.3)
        charged = await limiter.charge("user:1", 1, capacity=10, restore_rate=1.0)
        # Then the limiter gives up when the cache's read times out (the breaker opens), not a full
        # timeout after it asked; and it charged this process's bucket instead
        assert time.monotonic() - started < timeout + 0.15
        assert charged.allowed
        assert await read is None
        # And the login counters skip Redis at once
        skipped = time.monotonic()
        assert await attempts.take([AttemptLimit("email:a", 1, 60)]) == 0
        assert time.monotonic() - skipped < 0.05
    finally:
        private_redis.thaw()
        await client.aclose()
