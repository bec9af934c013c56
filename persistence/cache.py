"""A Redis cache that fails open: short timeouts, no retries, and the process's Redis breaker.

With Redis down every read is a miss and every write is dropped, so callers fall back to
MariaDB; the breaker (persistence/redis_breaker.py) stops a dead server from costing a timeout on
every request.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from persistence.metrics import CACHE_ERRORS, CACHE_HITS, CACHE_MISSES
from persistence.redis_breaker import BreakerView

# Part of every versioned key (persistence/versioned_cache.py): moved when a process reaches Redis again
# after losing it, so nothing cached before an outage is read after it.
EPOCH_KEY = "cache:epoch"


def new_version() -> str:
    """Random, not a counter: a version key lost to eviction or a restart comes back as a value no
    entry was ever stored under, so an old entry can never match it again."""
    return secrets.token_hex(6)


class Cache:
    def __init__(self, redis: Redis, breaker: BreakerView, *, version_ttl_seconds: int = 24 * 3600) -> None:
        self.redis = redis
        self.breaker = breaker
        # How long a version key lives unmoved (the epoch's too); see persistence/versioned_cache.py.
        self.version_ttl_seconds = version_ttl_seconds
        # Overwrites that failed while Redis was away, replayed first when it answers again, so a
        # stale entry written before the outage cannot outlive the write that replaced it.
        self._pending: dict[str, tuple[bytes, int]] = {}
        # Version keys a write could not move while Redis was away (with their TTL), moved first when
        # it answers again; and whether a call failed or was skipped since the last success (see _recover).
        self._pending_bumps: dict[str, int] = {}
        self._lost_contact = False
        self._retry: asyncio.Task[None] | None = None

    async def get_json(self, data_type: str, key: str) -> Any | None:
        return self.decode_json(data_type, await self._call("get", key))

    @property
    def answers(self) -> bool:
        """Whether a read may go to Redis straight away: the breaker closed and nothing to recover
        first (a read made along with another call, outside ``get_json``, relies on it)."""
        return not (self.breaker.is_open or self._lost_contact or self._pending or self._pending_bumps)

    def decode_json(self, data_type: str, raw: bytes | None) -> Any | None:
        """An entry read along with another call: counted as ``get_json`` counts it."""
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

    async def fill_many_json(self, entries: Mapping[str, Any], ttl_seconds: int) -> None:
        """``fill_json`` for several entries in one round trip."""
        if not entries:
            return

        async def fill() -> list[Any]:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, value in entries.items():
                    pipe.set(key, orjson.dumps(value), ex=ttl_seconds, nx=True)
                return list(await pipe.execute())

        await self._run("set", fill)

    async def versions(self, keys: Sequence[str], ttl_seconds: int) -> list[str] | None:
        """The current value of each version key in one round trip (a second only when some are
        missing: those get a new version, SET NX so racing readers agree). None when Redis is
        unavailable: the caller then neither reads nor fills versioned entries."""
        found = await self._call("mget", list(keys))
        if found is None:
            return None
        if all(value is not None for value in found):
            return [_text(value) for value in found]

        async def settle() -> list[Any]:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, value in zip(keys, found, strict=True):
                    if value is None:
                        pipe.set(key, new_version(), ex=ttl_seconds, nx=True)
                pipe.mget(list(keys))
                results = await pipe.execute()
            settled: list[Any] = results[-1]
            return settled

        settled = await self._run("mget", settle)
        if settled is None or any(value is None for value in settled):
            return None
        return [_text(value) for value in settled]

    async def bump_versions(self, keys: Sequence[str], ttl_seconds: int) -> None:
        """Moves each version key to a new value (after a write's commit): entries stored under the old
        ones are never read again. Lost to an outage, the bump is made first thing when Redis answers
        again, and a background retry makes sure that happens even if this process gets no request."""
        if not keys:
            return
        if await self._run("set", lambda: self._set_versions(dict.fromkeys(keys, ttl_seconds))) is None:
            self._pending_bumps.update(dict.fromkeys(keys, ttl_seconds))
            self._retry_later()

    async def _set_versions(self, ttls: Mapping[str, int]) -> bool:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, ttl_seconds in ttls.items():
                pipe.set(key, new_version(), ex=ttl_seconds)
            await pipe.execute()
        return True

    async def _call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run(operation, lambda: getattr(self.redis, operation)(*args, **kwargs))

    async def _run(self, operation: str, make: Callable[[], Awaitable[Any]]) -> Any:
        if not self.breaker.allows():
            CACHE_ERRORS.labels(operation).inc()
            # Another user of Redis may have met the outage: whatever this process cached before it
            # is distrusted after it all the same (see _recover).
            self._lost_contact = True
            return None
        try:
            async with self.breaker.waiting():
                if self._lost_contact or self._pending or self._pending_bumps:
                    await self._recover()
                result = await make()
        except (RedisError, OSError):
            CACHE_ERRORS.labels(operation).inc()
            self.breaker.record_failure()
            self._lost_contact = True
            return None
        self.breaker.record_success()
        return result

    async def _recover(self) -> None:
        """Runs before anything else once Redis answers again after failing this process.

        Lost overwrites are replayed and lost version bumps made. The epoch moves too: another
        process may have written during the outage and died (or not be back yet) with its bumps
        unmade, so no entry cached before the outage is trusted after it. (A Redis that flaps thus
        empties the versioned caches each time: the price of never serving a stale page.)
        """
        for key, (raw, ttl_seconds) in list(self._pending.items()):
            await self.redis.set(key, raw, ex=ttl_seconds)
            del self._pending[key]
        bumps = dict(self._pending_bumps)
        if self._lost_contact:
            bumps[EPOCH_KEY] = self.version_ttl_seconds
        if bumps:
            await self._set_versions(bumps)
        for key in bumps:
            self._pending_bumps.pop(key, None)
        self._lost_contact = False

    def _retry_later(self) -> None:
        if self._retry is None or self._retry.done():
            self._retry = asyncio.get_running_loop().create_task(self._retry_until_recovered())

    async def _retry_until_recovered(self) -> None:
        while self._pending or self._pending_bumps:
            await asyncio.sleep(self.breaker.cooldown_seconds)
            await self._call("ping")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
