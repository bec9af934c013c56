"""A Redis cache that fails open: short timeouts, no retries, and a circuit breaker.

With Redis down every read is a miss and every write is dropped, so callers fall back to
MariaDB; the breaker stops a dead server from costing a timeout on every request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from persistence.metrics import CACHE_ERRORS, CACHE_HITS, CACHE_MISSES

log = logging.getLogger(__name__)


class CircuitBreaker:
    """Opens on a failure; while open, calls are skipped until the cooldown has passed.

    An outage is logged twice, whatever its length: a warning at its first failure and an info at
    the first success after it (not a line per request, nor one per cooldown).
    """

    def __init__(
        self,
        cooldown_seconds: float,
        *,
        subject: str = "cache",
        fallback: str = "serving from the database",
    ) -> None:
        self.cooldown_seconds = cooldown_seconds
        self.subject = subject
        self.fallback = fallback
        self._open_until = 0.0
        self._in_outage = False

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def record_failure(self) -> None:
        if not self._in_outage:
            self._in_outage = True
            log.warning("%s unavailable; %s until it answers again", self.subject, self.fallback)
        self._open_until = time.monotonic() + self.cooldown_seconds

    def record_success(self) -> None:
        if self._in_outage:
            self._in_outage = False
            log.info("%s available again", self.subject)
        self._open_until = 0.0


class Cache:
    def __init__(self, redis: Redis, breaker: CircuitBreaker) -> None:
        self.redis = redis
        self.breaker = breaker
        # Overwrites that failed while Redis was away, replayed first when it answers again, so a
        # stale entry written before the outage cannot outlive the write that replaced it.
        self._pending: dict[str, tuple[bytes, int]] = {}

    async def get_json(self, data_type: str, key: str) -> Any | None:
        raw = await self._call("get", key)
        if raw is None:
            CACHE_MISSES.labels(data_type).inc()
            return None
        CACHE_HITS.labels(data_type).inc()
        return orjson.loads(raw)

    async def get_many_json(self, data_type: str, keys: Sequence[str]) -> list[Any | None]:
        """Several entries in one round trip (MGET); every one a miss when Redis is unavailable."""
        raws = await self._call("mget", list(keys)) if keys else []
        if raws is None:
            raws = [None] * len(keys)
        values: list[Any | None] = []
        for raw in raws:
            (CACHE_MISSES if raw is None else CACHE_HITS).labels(data_type).inc()
            values.append(None if raw is None else orjson.loads(raw))
        return values

    async def fill_json(self, key: str, value: Any, ttl_seconds: int) -> None:
        """Stores what a miss read from the database, unless the key was written meanwhile.

        A reader that raced with a write (logout, say) must not put its older copy back over the
        write's own entry: SET NX leaves the newer entry in place.
        """
        await self._call("set", key, orjson.dumps(value), ex=ttl_seconds, nx=True)

    async def overwrite_json(self, key: str, value: Any, ttl_seconds: int) -> None:
        """Replaces the entry after a write changed the truth; retried once Redis is back if it fails."""
        raw = orjson.dumps(value)
        if await self._call("set", key, raw, ex=ttl_seconds) is None:
            self._pending[key] = (raw, ttl_seconds)

    async def add_member(self, key: str, member: str, ttl_seconds: int) -> None:
        """Adds to a set that indexes other entries (a user's cached API keys, say); it lives as long
        as the entries it indexes."""
        if await self._call("sadd", key, member) is not None:
            await self._call("expire", key, ttl_seconds)

    async def members(self, key: str) -> set[str]:
        """The set's members; empty when Redis is unavailable."""
        found = await self._call("smembers", key)
        return {m.decode() if isinstance(m, bytes) else str(m) for m in found or ()}

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._call("delete", *keys)

    async def _call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        if self.breaker.is_open:
            CACHE_ERRORS.labels(operation).inc()
            return None
        try:
            if self._pending:
                await self._replay_pending()
            result = await getattr(self.redis, operation)(*args, **kwargs)
        except (RedisError, OSError):
            CACHE_ERRORS.labels(operation).inc()
            self.breaker.record_failure()
            return None
        self.breaker.record_success()
        return result

    async def _replay_pending(self) -> None:
        for key, (raw, ttl_seconds) in list(self._pending.items()):
            await self.redis.set(key, raw, ex=ttl_seconds)
            del self._pending[key]
