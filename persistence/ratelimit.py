"""A cost budget per principal: a leaky bucket in Redis, charged and refunded atomically.

A bucket holds up to ``capacity`` points and refills continuously at ``restore_rate`` points per
second. One Lua script reads, refills, charges and writes the bucket, timed by the Redis server's
clock so that every server process agrees on how much has refilled. A bucket's key expires once it
would be full again: an idle principal leaves nothing behind.

The limiter fails open. When Redis errs or times out, the process's Redis breaker stops asking it for a while
and each key is charged in a bucket of this process instead (the same arithmetic on the monotonic
clock). With N server processes that fallback lets a principal spend N times its budget; refusing
every request while Redis is away would be worse.

A refund need not hold up the answer it belongs to (``refund_later``): it is kept in the process and
folded into the principal's next charge (the script adds it back before charging: the same points as
two calls, one round trip less), or sent on its own ``REFUND_DELAY_SECONDS`` later when no charge
came, all waiting refunds in one round trip. Another process may meanwhile see that principal's bucket
short by the refund, for at most that delay.

With a read replica, the same call tells whether the principal wrote in the last few seconds (the
mark persistence/replica.py leaves after a write's commit): its reads must then see the primary. The
charge every request pays carries the question, so read-your-writes costs no round trip of its own.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from persistence.redis_breaker import BreakerView

# How long a refund may wait for the principal's next charge before it is sent on its own.
REFUND_DELAY_SECONDS = 0.05

# KEYS[1]: the bucket (a hash of its points and when they were counted, in server milliseconds);
# KEYS[2], optional: a key read in the same call (the request's session: one round trip for both);
# the last key, when ARGV[5] is 1: a key whose existence is asked (the principal's written mark).
# ARGV: capacity, restore rate (points per second), the change (a charge; negative for a refund),
# points refunded first (a refund that waited for this charge; 0 for none), and 1 when the last key
# is a mark to look for (else 0).
# Returns whether the change was made, the points left as text (Lua numbers turn to integers), with
# a KEYS[2] to read that key's value (nil when missing), and with a mark 1 when it exists, else 0.
_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local refunded = tonumber(ARGV[4])
local marked = ARGV[5] == '1'
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = tonumber(stored[1])
local at = tonumber(stored[2])
if points == nil or at == nil then
  points = capacity
  at = now
end
points = math.min(capacity, points + math.max(0, now - at) * rate / 1000 + refunded)
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
local answer = {allowed, tostring(points)}
local reads = #KEYS
if marked then
  reads = reads - 1
end
if reads >= 2 then
  answer[#answer + 1] = redis.call('GET', KEYS[2])
end
if marked then
  answer[#answer + 1] = redis.call('EXISTS', KEYS[#KEYS])
end
return answer
"""


def written_mark_key(principal_key: str) -> str:
    """The mark a principal's committed write leaves for its reads (persistence/replica.py sets it)."""
    return f"wrote:{principal_key}"


@dataclass(frozen=True)
class BucketState:
    allowed: bool
    limit: int  # the capacity
    remaining: int  # points left after this charge (floor), or before it when refused
    restore_rate: float  # points per second
    retry_after_seconds: float  # 0 when allowed; else when the refused cost will fit again
    reset_seconds: float  # when the bucket will be full again
    points: float  # ``remaining`` unrounded
    # Asked only with a read replica: whether the principal's reads must see the primary (it wrote a
    # moment ago, or Redis could not say).
    wrote_recently: bool = False


def _state(
    allowed: bool,
    points: float,
    cost: int,
    capacity: int,
    restore_rate: float,
    *,
    wrote_recently: bool = False,
) -> BucketState:
    return BucketState(
        allowed=allowed,
        limit=capacity,
        remaining=max(0, math.floor(points)),
        restore_rate=restore_rate,
        retry_after_seconds=0.0 if allowed else max(0.0, (cost - points) / restore_rate),
        reset_seconds=max(0.0, (capacity - points) / restore_rate),
        points=points,
        wrote_recently=wrote_recently,
    )


@dataclass(frozen=True)
class _Refund:
    points: int
    capacity: int
    restore_rate: float


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
        breaker: BreakerView,
        *,
        key_prefix: str = "ratelimit",
        local_max_keys: int = 100_000,
        asks_written_marks: bool = False,
    ) -> None:
        """``asks_written_marks``: each charge also tells whether its principal wrote a moment ago
        (``BucketState.wrote_recently``); only with a read replica, where it matters."""
        self.key_prefix = key_prefix
        self.asks_written_marks = asks_written_marks
        self._script = redis.register_script(_SCRIPT)
        self.breaker = breaker
        self._local = _LocalBuckets(local_max_keys)
        # Refunds waiting for their principal's next charge, by bucket key; and the timer that sends
        # them on their own.
        self._refunds: dict[str, _Refund] = {}
        self._flush: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references

    async def charge(
        self, principal_key: str, cost: int, *, capacity: int, restore_rate: float
    ) -> BucketState:
        """Takes ``cost`` points; refused (nothing taken) when fewer are left. A cost above the
        capacity never fits: the caller refuses it before charging. A refund waiting for this
        bucket is given back first, in the same call."""
        return await self._change(principal_key, cost, capacity, restore_rate)

    async def charge_and_get(
        self, principal_key: str, cost: int, *, capacity: int, restore_rate: float, key: str
    ) -> tuple[BucketState, bytes | None] | None:
        """``charge``, and ``key``'s value read in the same round trip; None, with nothing charged,
        when Redis cannot be asked (the caller then charges and reads the usual way)."""
        if not self.breaker.allows():
            return None
        bucket = self._bucket_key(principal_key, capacity, restore_rate)
        waiting = self._refunds.pop(bucket, None)
        refunded = waiting.points if waiting else 0
        try:
            async with self.breaker.waiting():
                allowed, points, value, *mark = await self._script(
                    keys=[bucket, key, *self._mark_keys(principal_key)],
                    args=[capacity, restore_rate, cost, refunded, int(self.asks_written_marks)],
                )
        except (RedisError, OSError):
            self.breaker.record_failure()
            if waiting is not None:
                self._refunds[bucket] = waiting
            return None
        self.breaker.record_success()
        state = _state(bool(allowed), float(points), cost, capacity, restore_rate, wrote_recently=mark == [1])
        return state, value

    def _mark_keys(self, principal_key: str) -> list[str]:
        return [written_mark_key(principal_key)] if self.asks_written_marks else []

    def _bucket_key(self, principal_key: str, capacity: int, restore_rate: float) -> str:
        if capacity <= 0 or restore_rate <= 0:
            # The script divides by the rate; an empty bucket would refuse everything for ever.
            raise ValueError("a bucket needs a positive capacity and restore rate")
        return f"{self.key_prefix}:{principal_key}"

    async def refund(
        self, principal_key: str, points: int, *, capacity: int, restore_rate: float
    ) -> BucketState:
        """Gives back points a charge took but the request did not spend, never beyond capacity."""
        return await self._change(principal_key, -points, capacity, restore_rate)

    def refund_later(self, principal_key: str, points: int, charged: BucketState) -> BucketState:
        """``refund`` without waiting for Redis: the points are given back with the bucket's next
        charge, or within ``REFUND_DELAY_SECONDS``. The answer is the bucket as the charge left it
        with the points back (the refill since that charge aside)."""
        key = f"{self.key_prefix}:{principal_key}"
        waiting = self._refunds.get(key)
        total = points + (waiting.points if waiting else 0)
        self._refunds[key] = _Refund(total, charged.limit, charged.restore_rate)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(REFUND_DELAY_SECONDS, self._start_flush)
        back = min(float(charged.limit), charged.points + points)
        return _state(True, back, 0, charged.limit, charged.restore_rate)

    def _start_flush(self) -> None:
        self._flush = None
        refunds, self._refunds = self._refunds, {}
        if refunds:
            # Fire and forget: nobody waits for it; a failure falls back as any call does.
            task = asyncio.get_running_loop().create_task(self._send_refunds(refunds))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send_refunds(self, refunds: dict[str, _Refund]) -> None:
        for key, refund in refunds.items():
            args = (key, 0, refund.points, refund.capacity, refund.restore_rate)
            if await self._run_script(*args) is None:
                self._local.change(key, -refund.points, refund.capacity, refund.restore_rate)

    async def _change(self, principal_key: str, cost: int, capacity: int, restore_rate: float) -> BucketState:
        key = self._bucket_key(principal_key, capacity, restore_rate)
        waiting = self._refunds.pop(key, None)
        refunded = waiting.points if waiting else 0
        answer = await self._run_script(key, cost, refunded, capacity, restore_rate, principal_key)
        if answer is None:
            if refunded:
                self._local.change(key, -refunded, capacity, restore_rate)
            allowed, points = self._local.change(key, cost, capacity, restore_rate)
            # Without Redis nobody can say whether the principal just wrote: the primary it is.
            wrote_recently = self.asks_written_marks
        else:
            allowed, points, wrote_recently = answer
        return _state(allowed, points, cost, capacity, restore_rate, wrote_recently=wrote_recently)

    async def _run_script(
        self,
        key: str,
        cost: int,
        refunded: int,
        capacity: int,
        restore_rate: float,
        principal_key: str | None = None,
    ) -> tuple[bool, float, bool] | None:
        """The script's answer (with whether ``principal_key``, when given, wrote a moment ago); None
        when Redis is skipped (the breaker open) or fails."""
        if not self.breaker.allows():
            return None
        marks = [] if principal_key is None else self._mark_keys(principal_key)
        try:
            async with self.breaker.waiting():
                allowed, points, *mark = await self._script(
                    keys=[key, *marks], args=[capacity, restore_rate, cost, refunded, int(bool(marks))]
                )
        except (RedisError, OSError):
            self.breaker.record_failure()
            return None
        self.breaker.record_success()
        return bool(allowed), float(points), mark == [1]
