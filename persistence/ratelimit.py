"""A cost budget per principal: a leaky bucket in Redis, charged and refunded atomically.

A bucket holds up to ``capacity`` points and refills continuously at ``restore_rate`` points per
second. One Lua script reads, refills, charges and writes the bucket, timed by the Redis server's
clock so that every server process agrees on how much has refilled. A bucket's key expires once it
would be full again: an idle principal leaves nothing behind.

The limiter fails open. When Redis errs or times out, a circuit breaker stops asking it for a while
and each key is charged in a bucket of this process instead (the same arithmetic on the monotonic
clock). With N server processes that fallback lets a principal spend N times its budget; refusing
every request while Redis is away would be worse.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from persistence.cache import CircuitBreaker

# KEYS[1]: the bucket (a hash of its points and when they were counted, in server milliseconds).
# ARGV: capacity, restore rate (points per second), the change (a charge; negative for a refund).
# Returns whether the change was made, and the points left as text (Lua numbers turn to integers).
_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = tonumber(stored[1])
local at = tonumber(stored[2])
if points == nil or at == nil then
  points = capacity
  at = now
end
points = math.min(capacity, points + math.max(0, now - at) * rate / 1000)
local allowed = 0
if cost <= points then
  allowed = 1
  points = math.min(capacity, points - cost)
end
local full_in_ms = math.ceil((capacity - points) * 1000 / rate)
if full_in_ms <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'points', tostring(points), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], full_in_ms)
end
return {allowed, tostring(points)}
"""


@dataclass(frozen=True)
class BucketState:
    allowed: bool
    limit: int  # the capacity
    remaining: int  # points left after this charge (floor), or before it when refused
    restore_rate: float  # points per second
    retry_after_seconds: float  # 0 when allowed; else when the refused cost will fit again
    reset_seconds: float  # when the bucket will be full again


def _state(allowed: bool, points: float, cost: int, capacity: int, restore_rate: float) -> BucketState:
    return BucketState(
        allowed=allowed,
        limit=capacity,
        remaining=max(0, math.floor(points)),
        restore_rate=restore_rate,
        retry_after_seconds=0.0 if allowed else max(0.0, (cost - points) / restore_rate),
        reset_seconds=max(0.0, (capacity - points) / restore_rate),
    )


class _LocalBuckets:
    """Buckets of this process, for while Redis is away: the script's arithmetic, least recently
    used keys dropped beyond ``max_keys`` (a dropped bucket counts as full, as an expired key does)."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def change(self, key: str, cost: int, capacity: int, restore_rate: float) -> tuple[bool, float]:
        now = time.monotonic()
        points, at = self._buckets.pop(key, (float(capacity), now))
        points = min(float(capacity), points + max(0.0, now - at) * restore_rate)
        allowed = cost <= points
        if allowed:
            points = min(float(capacity), points - cost)
        if points < capacity:
            self._buckets[key] = (points, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return allowed, points


class CostLimiter:
    def __init__(
        self,
        redis: Redis,
        *,
        key_prefix: str = "ratelimit",
        breaker_cooldown_seconds: float = 5.0,
        local_max_keys: int = 100_000,
    ) -> None:
        self.key_prefix = key_prefix
        self._script = redis.register_script(_SCRIPT)
        self.breaker = CircuitBreaker(
            breaker_cooldown_seconds,
            subject="rate limiter's Redis",
            fallback="charging the budgets of this process alone",
        )
        self._local = _LocalBuckets(local_max_keys)

    async def charge(
        self, principal_key: str, cost: int, *, capacity: int, restore_rate: float
    ) -> BucketState:
        """Takes ``cost`` points; refused (nothing taken) when fewer are left. A cost above the
        capacity never fits: the caller refuses it before charging."""
        return await self._change(principal_key, cost, capacity, restore_rate)

    async def refund(
        self, principal_key: str, points: int, *, capacity: int, restore_rate: float
    ) -> BucketState:
        """Gives back points a charge took but the request did not spend, never beyond capacity."""
        return await self._change(principal_key, -points, capacity, restore_rate)

    async def _change(self, principal_key: str, cost: int, capacity: int, restore_rate: float) -> BucketState:
        if capacity <= 0 or restore_rate <= 0:
            # The script divides by the rate; an empty bucket would refuse everything for ever.
            raise ValueError("a bucket needs a positive capacity and restore rate")
        key = f"{self.key_prefix}:{principal_key}"
        answer = None if self.breaker.is_open else await self._run_script(key, cost, capacity, restore_rate)
        if answer is None:
            allowed, points = self._local.change(key, cost, capacity, restore_rate)
        else:
            allowed, points = answer
        return _state(allowed, points, cost, capacity, restore_rate)

    async def _run_script(
        self, key: str, cost: int, capacity: int, restore_rate: float
    ) -> tuple[bool, float] | None:
        try:
            allowed, points = await self._script(keys=[key], args=[capacity, restore_rate, cost])
        except (RedisError, OSError):
            self.breaker.record_failure()
            return None
        self.breaker.record_success()
        return bool(allowed), float(points)
