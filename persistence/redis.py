"""Redis clients: a real server, or an in-process stand-in (fakeredis) for the embedded default."""

from __future__ import annotations

import fakeredis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from persistence.settings import Settings
from persistence.tracing import instrument_redis

EMBEDDED_URL = "memory://"


def create_redis(settings: Settings) -> Redis:
    """A client that fails fast: short socket timeouts and no retries (the cache fails open)."""
    client: Redis
    if settings.redis_url == EMBEDDED_URL:
        client = fakeredis.FakeAsyncRedis(server=embedded_server())
    else:
        client = Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_socket_timeout,
            socket_connect_timeout=settings.redis_socket_timeout,
            retry_on_timeout=False,
            retry=Retry(NoBackoff(), retries=0),
            health_check_interval=30,
        )
    instrument_redis(client)  # a span per command, when tracing is on
    return client


_server: fakeredis.FakeServer | None = None


def embedded_server() -> fakeredis.FakeServer:
    """One in-process server for the whole process, so every client sees the same data."""
    global _server  # noqa: PLW0603 - a process-wide singleton is the point of the embedded stand-in
    if _server is None:
        _server = fakeredis.FakeServer()
    return _server
