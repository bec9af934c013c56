"""Live updates in: one Redis pub/sub connection per process, fanned out in-process.

Why one connection: a Redis connection per GraphQL subscription does not scale (1,000 subscribers
would hold 1,000 connections). The hub subscribes a channel while at least one local listener wants
it, decodes each message once and copies it into every listener's own bounded queue.

Why ``Resync``: pub/sub is at-most-once. What is published while the connection is down is lost, so
when the hub reconnects (a Redis restart, a cut network, a frozen server noticed by its keepalive)
it re-subscribes every wanted channel and hands each listener a ``Resync``: the subscription reads
what it missed from the events table (resolvers/event_replay.py). A listener that falls behind is
treated the same way: when its queue is full its backlog is dropped and one ``Resync`` takes its
place, so a slow consumer never blocks the others and never holds memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import fakeredis
import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from persistence.metrics import SUBSCRIPTIONS_LISTENING
from persistence.redis import EMBEDDED_URL, create_redis
from persistence.redis_breaker import BreakerView
from persistence.settings import Settings

log = logging.getLogger("taskql.pubsub")

# The keepalive pings an idle connection; this many silent periods mean the server is gone.
SILENT_PERIODS = 3
FIRST_RECONNECT_DELAY = 0.05
IN_MEMORY_POLL_SECONDS = 0.01
STOP_SECONDS = 5.0


def project_channel(prefix: str, project_id: int) -> str:
    """``prefix`` keeps deployments that share a Redis server apart: pub/sub ignores database numbers."""
    return f"{prefix}:project:{project_id}"


def user_channel(prefix: str, user_id: int) -> str:
    return f"{prefix}:user:{user_id}"


def client_name() -> str:
    """How the hub's connection names itself in ``CLIENT LIST`` (one per process)."""
    return f"taskql-pubsub-{os.getpid()}"


@dataclass(frozen=True)
class Resync:
    """Messages may have been lost ("reconnected" or "overflow"): what the listener missed is read
    again from the database where it can be, and the client told to refetch where it cannot.

    One object reaches every listener after a reconnect; ``memo`` is where they share the reads that
    fill the same gap (resolvers/event_replay.py).
    """

    reason: str
    memo: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Message(dict[str, Any]):
    """A decoded message, one object handed to every listener of its channel in this process.

    ``memo`` is where those listeners keep what they would otherwise each compute for the same
    message (the subscribers of one event share its reads instead of each reading it again).
    """

    __slots__ = ("memo",)

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.memo: dict[str, Any] = {}


Delivery = Message | Resync


class Listener:
    """One subscription's view of a channel: the messages since it joined, in order, bounded."""

    def __init__(self, channel: str, size: int) -> None:
        self.channel = channel
        self.dropped = 0
        # None ends the iteration (the hub stopped).
        self._queue: asyncio.Queue[Delivery | None] = asyncio.Queue(maxsize=size)

    def offer(self, item: Delivery | None) -> None:
        if self._queue.full():
            while not self._queue.empty():
                self._queue.get_nowait()
                self.dropped += 1
            if item is not None:
                self._queue.put_nowait(Resync("overflow"))
        self._queue.put_nowait(item)

    def __aiter__(self) -> Listener:
        return self

    async def __anext__(self) -> Delivery:
        item = await self._queue.get()
        if item is None:
            raise StopAsyncIteration
        return item


def create_pubsub_redis(settings: Settings) -> Redis:
    """The hub's own client: no retries of its own (the hub reconnects), a name to find it by."""
    if settings.redis_url == EMBEDDED_URL:
        return create_redis(settings)  # the process's in-memory server, which the relay publishes to
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        retry=Retry(NoBackoff(), retries=0),
        health_check_interval=0,  # the hub's keepalive does this, and also notices a frozen server
        client_name=client_name(),
    )


class PubSubHub:
    def __init__(
        self,
        redis: Redis,
        *,
        queue_size: int = 256,
        keepalive_seconds: float = 1.0,
        reconnect_max_seconds: float = 1.0,
        breaker: BreakerView | None = None,
    ) -> None:
        self.redis = redis
        # The process's Redis breaker: a connection lost or a keepalive unanswered opens it for every
        # user of Redis here, so requests skip a frozen Redis without each waiting out a timeout first.
        self.breaker = breaker
        self._in_memory = isinstance(redis, fakeredis.FakeAsyncRedis)
        self.queue_size = queue_size
        self.keepalive_seconds = keepalive_seconds
        self.reconnect_max_seconds = reconnect_max_seconds
        self.connections_opened = 0
        self._listeners: dict[str, set[Listener]] = {}
        self._pubsub: PubSub | None = None  # the live connection's; None while down
        self._subscribed: set[str] = set()  # what was sent to the live connection
        # Serializes (un)subscribe commands: each decides from the wanted state at the time it runs.
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()  # set once the first connection is up

    @classmethod
    def from_settings(cls, settings: Settings, breaker: BreakerView | None = None) -> PubSubHub:
        return cls(
            create_pubsub_redis(settings),
            queue_size=settings.pubsub_queue_size,
            keepalive_seconds=settings.pubsub_keepalive_seconds,
            reconnect_max_seconds=settings.pubsub_reconnect_max_seconds,
            breaker=breaker,
        )

    @property
    def connected(self) -> bool:
        return self._pubsub is not None

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self._listeners)

    async def start(self, wait_seconds: float = 2.0) -> None:
        """Starts the reader; waits (briefly) for the first connection, so a server does not take
        subscribers before it listens. With Redis down it starts anyway and keeps reconnecting."""
        self._task = asyncio.create_task(self._run(), name="taskql-pubsub-hub")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_seconds):
                await self._ready.wait()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # Bounded: a shutdown must not hang on a reader stuck in a client library.
            done, _ = await asyncio.wait({task}, timeout=STOP_SECONDS)
            if not done:
                log.warning("the pub/sub reader did not stop within %.0f s", STOP_SECONDS)
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.offer(None)
        self._listeners.clear()
        await self.redis.aclose()

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Listener]:
        listener = Listener(channel, self.queue_size)
        self._listeners.setdefault(channel, set()).add(listener)
        counted = False
        try:
            await self._sync(channel)
            # From here on a message published on the channel reaches this listener (while Redis is
            # up): the moment a subscriber is in, which no client-side message tells.
            SUBSCRIPTIONS_LISTENING.inc()
            counted = True
            yield listener
        finally:
            if counted:
                SUBSCRIPTIONS_LISTENING.dec()
            listeners = self._listeners.get(channel)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[channel]
            await self._sync(channel)

    async def _sync(self, channel: str) -> None:
        """Brings the live connection's subscription of ``channel`` in line with its listeners."""
        async with self._lock:
            pubsub = self._pubsub
            wanted, sent = channel in self._listeners, channel in self._subscribed
            if pubsub is None or wanted == sent:
                return  # while down, the reconnect subscribes whatever is wanted then
            try:
                if wanted:
                    await pubsub.subscribe(channel)
                    self._subscribed.add(channel)
                else:
                    await pubsub.unsubscribe(channel)
                    self._subscribed.discard(channel)
            except (RedisError, OSError) as error:
                # The reader sees the broken connection too and reconnects with the wanted channels.
                log.warning(
                    "pub/sub %s of %s failed: %s", "subscribe" if wanted else "unsubscribe", channel, error
                )

    async def _run(self) -> None:
        delay = FIRST_RECONNECT_DELAY
        while True:
            pubsub = self.redis.pubsub()
            try:
                await self._connect(pubsub)
                delay = FIRST_RECONNECT_DELAY
                self._broadcast(Resync("reconnected"))
                await self._read(pubsub)
            except (RedisError, OSError, TimeoutError) as error:
                log.warning("pub/sub connection lost (%s); reconnecting in %.2f s", error, delay)
                if self.breaker is not None:
                    self.breaker.record_failure()
            except Exception:
                # A bug must not end live updates for the whole process: log it and reconnect.
                log.exception("pub/sub reader failed; reconnecting in %.2f s", delay)
            finally:
                self._pubsub = None
                self._subscribed = set()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max_seconds)

    async def _connect(self, pubsub: PubSub) -> None:
        async with self._lock:
            await pubsub.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            wanted = set(self._listeners)
            if wanted:
                await pubsub.subscribe(*wanted)
            self._pubsub, self._subscribed = pubsub, wanted
            self.connections_opened += 1
            self._ready.set()
        if self.breaker is not None:
            self.breaker.record_success()
        log.info("pub/sub connected; %d channel(s) subscribed", len(wanted))

    async def _read(self, pubsub: PubSub) -> None:
        heard = pinged = time.monotonic()
        while True:
            message = await self._next_message(pubsub)
            now = time.monotonic()
            if message is not None:
                heard = now
                if message["type"] == "message":
                    self._dispatch(message["channel"], message["data"])
                continue
            if now - heard > SILENT_PERIODS * self.keepalive_seconds:
                raise TimeoutError("no reply to the keepalive")
            if now - pinged >= self.keepalive_seconds:
                await pubsub.ping()
                pinged = now

    async def _next_message(self, pubsub: PubSub) -> dict[str, Any] | None:
        if not self._in_memory:
            message: dict[str, Any] | None = await pubsub.get_message(timeout=self.keepalive_seconds)
            return message
        # fakeredis's blocking read (asyncio.wait_for on an Event) can lose the cancellation that
        # stops the hub, and hang a shutdown: the in-memory stand-in is polled instead.
        message = await pubsub.get_message(timeout=0)
        if message is None:
            await asyncio.sleep(IN_MEMORY_POLL_SECONDS)
        return message

    def _dispatch(self, raw_channel: bytes | str, data: bytes | str) -> None:
        channel = raw_channel.decode() if isinstance(raw_channel, bytes) else raw_channel
        listeners = self._listeners.get(channel)
        if not listeners:
            return  # the last listener left while this message was on its way
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            log.warning("dropped a message on %s that is not JSON", channel)
            return
        if not isinstance(decoded, dict):
            log.warning("dropped a message on %s that is not a JSON object", channel)
            return
        message = Message(decoded)
        for listener in listeners:
            listener.offer(message)

    def _broadcast(self, item: Resync) -> None:
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.offer(item)
