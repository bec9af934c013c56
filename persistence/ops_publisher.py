"""Every process's ops window in Redis, so any process can show the figures of all of them.

Each process writes its snapshot to ``<prefix>:ops:proc:<host>:<pid>`` every second with a short TTL
(a process that died drops out within the TTL) and scores that key in one index, the sorted set
``<prefix>:ops:procs``, by the time it wrote it. A reader takes the index's recent members and reads
them with one MGET: no KEYS, no SCAN over the keyspace. Publishing fails open: with Redis away the
process keeps serving and its figures are simply missing from the others' view.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.ops_window import SNAPSHOT_VERSION, OpsWindow, process_window
from persistence.settings import Settings

log = logging.getLogger("taskql.ops")


def index_key(prefix: str) -> str:
    return f"{prefix}:ops:procs"


def process_key(prefix: str, host: str | None = None, pid: int | None = None) -> str:
    """This process's key (or another's, given its host and pid)."""
    return f"{prefix}:ops:proc:{host or socket.gethostname()}:{pid or os.getpid()}"


async def publish(redis: Redis, prefix: str, window: OpsWindow, ttl_seconds: int, key: str) -> None:
    now = time.time()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(key, orjson.dumps(window.snapshot()), ex=ttl_seconds)
        pipe.zadd(index_key(prefix), {key: now})
        # Members whose key has expired: the index stays as small as the set of live processes.
        pipe.zremrangebyscore(index_key(prefix), "-inf", now - ttl_seconds)
        await pipe.execute()


async def read_snapshots(redis: Redis, prefix: str, ttl_seconds: int) -> dict[str, dict[str, Any]]:
    """The live processes' snapshots by key; raises RedisError or OSError when Redis does not answer."""
    found = await redis.zrangebyscore(index_key(prefix), time.time() - ttl_seconds, "+inf")
    keys = [k.decode() if isinstance(k, bytes) else str(k) for k in found]
    if not keys:
        return {}
    raws = await redis.mget(keys)
    snapshots: dict[str, dict[str, Any]] = {}
    for key, raw in zip(keys, raws, strict=True):
        if raw is None:
            continue
        decoded = orjson.loads(raw)
        # A process of another version during a rolling deploy: left out rather than misread.
        if isinstance(decoded, dict) and decoded.get("v") == SNAPSHOT_VERSION:
            snapshots[key] = decoded
    return snapshots


class OpsPublisher:
    """The loop that publishes this process's window every ``interval_seconds``."""

    def __init__(
        self, redis: Redis, prefix: str, window: OpsWindow, interval_seconds: float, ttl_seconds: int
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.window = window
        self.interval_seconds = interval_seconds
        self.ttl_seconds = ttl_seconds
        self.key = process_key(prefix)
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            # The event as well as the cancel: the embedded Redis stand-in swallows a cancel that
            # arrives mid-command, and the loop would then tick on and hold the shutdown forever.
            self._stopping.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # Gone at once from the others' view, instead of after the TTL.
        with contextlib.suppress(RedisError, OSError):
            await self.redis.zrem(index_key(self.prefix), self.key)
            await self.redis.delete(self.key)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await publish(self.redis, self.prefix, self.window, self.ttl_seconds, self.key)
            except (RedisError, OSError):
                if not self._failing:
                    log.warning("ops figures not published: Redis unavailable (retrying every tick)")
                self._failing = True
            except Exception:
                # A bug here must not end the loop (and with it this process's place in the figures).
                if not self._failing:
                    log.exception("ops figures not published")
                self._failing = True
            else:
                if self._failing:
                    log.info("ops figures published again")
                self._failing = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_seconds)


def process_publisher(redis: Redis, settings: Settings, engines: Sequence[AsyncEngine]) -> OpsPublisher:
    """The publisher of this process's window, with the engines' pools watched (together they hold
    the seed's pool size plus overflow; SQLite's own pool is judged against the same figures)."""
    window = process_window()
    window.watch_pools([engine.pool for engine in engines], settings.db_pool_size + settings.db_max_overflow)
    return OpsPublisher(
        redis,
        settings.redis_channel_prefix,
        window,
        settings.ops_publish_interval_seconds,
        settings.ops_snapshot_ttl_seconds,
    )
