"""Attempt counters in Redis: how many times something was tried per key within a window.

Each counter is a fixed window that starts at the first attempt it counts and ends ``window``
later (the key expires with it). ``take`` checks several counters and counts one attempt on each
in one Lua script: either every counter is under its limit and each counts one more, or nothing is
counted and the caller learns how long until the longest refusing window ends. Checking and counting
at once means concurrent attempts cannot all slip under a limit before any of them is counted.

The counters fail open: with Redis away (the process's Redis breaker stops asking it for a while) every
attempt is let through uncounted, since refusing every login while Redis is away would be worse.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from persistence.redis_breaker import BreakerView

# KEYS: the counters; ARGV: each counter's limit, window (milliseconds) and whether this attempt counts
# on it (1) or is only checked against it (0), in KEYS' order.
# Returns 0 when every counter was under its limit (and the counting ones counted one more), else the
# milliseconds until the refusal ends.
_TAKE = """
local wait = 0
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[3 * i - 2]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      ttl = tonumber(ARGV[3 * i - 1])
      redis.call('PEXPIRE', key, ttl)
    end
    wait = math.max(wait, ttl)
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  if ARGV[3 * i] == '1' and redis.call('INCR', key) == 1 then
    redis.call('PEXPIRE', key, ARGV[3 * i - 1])
  end
end
return 0
"""

# KEYS[1]: a counter that counted an attempt which, it turned out, should not count.
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('DECR', KEYS[1]) <= 0 then
  redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class AttemptLimit:
    key: str
    limit: int
    window_seconds: int
    # False: the attempt is checked against this counter but not counted on it (yet).
    counts: bool = True


class AttemptCounters:
    def __init__(self, redis: Redis, breaker: BreakerView, *, key_prefix: str = "attempts") -> None:
        self.redis = redis
        self.breaker = breaker
        self.key_prefix = key_prefix
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)

    async def take(self, limits: Sequence[AttemptLimit]) -> int:
        """Counts one attempt on each counter: 0 when done, else the seconds until one may be made
        (nothing counted). Always 0 while Redis is unavailable."""
        keys = [self._key(limit.key) for limit in limits]
        args: list[int] = []
        for limit in limits:
            args += [limit.limit, limit.window_seconds * 1000, int(limit.counts)]
        wait_ms = await self._call(lambda: self._take(keys=keys, args=args))
        return math.ceil(int(wait_ms or 0) / 1000)

    async def count(self, key: str, window_seconds: int) -> None:
        """Counts one attempt on ``key`` whatever its count (one that ``take`` only checked)."""
        await self.take([AttemptLimit(key, 2**31 - 1, window_seconds)])

    async def give_back(self, key: str) -> None:
        """Uncounts one attempt of ``key`` (one that ``take`` counted before its outcome was known)."""
        await self._call(lambda: self._give_back(keys=[self._key(key)]))

    async def clear(self, key: str) -> None:
        await self._call(lambda: self.redis.delete(self._key(key)))

    def _key(self, key: str) -> str:
        return f"{self.key_prefix}:{key}"

    async def _call(self, command: Callable[[], Awaitable[Any]]) -> Any:
        if not self.breaker.allows():
            return None
        try:
            async with self.breaker.waiting():
                result = await command()
        except (RedisError, OSError):
            self.breaker.record_failure()
            return None
        self.breaker.record_success()
        return result
