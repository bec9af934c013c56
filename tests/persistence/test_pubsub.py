"""The pub/sub hub: one Redis connection per process, fan-out to bounded listeners, RESYNC after a
reconnect or an overflow. Restarts and freezes use a private redis-server, never the shared one."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import fakeredis
import orjson
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from perf.shared.private_redis import PrivateRedis, wait_until_listening
from persistence.pubsub import Delivery, Listener, PubSubHub, Resync, client_name, create_pubsub_redis
from persistence.redis_breaker import RedisBreaker
from tests.conftest import make_settings

WAIT = 5.0


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = WAIT) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def _subscribers(redis: Redis, channel: str) -> int:
    counts: list[tuple[bytes | str, int]] = await redis.pubsub_numsub(channel)
    return counts[0][1]


async def _next(listener: Listener, within: float = WAIT) -> Delivery:
    async with asyncio.timeout(within):
        return await anext(listener)


async def _nothing_within(listener: Listener, seconds: float) -> None:
    with pytest.raises(TimeoutError):
        await _next(listener, seconds)


@pytest.fixture
async def fake_hub() -> AsyncIterator[tuple[PubSubHub, Redis]]:
    server = fakeredis.FakeServer()
    hub = PubSubHub(fakeredis.FakeAsyncRedis(server=server), queue_size=4, keepalive_seconds=0.2)
    publisher = fakeredis.FakeAsyncRedis(server=server)
    await hub.start()
    await _eventually(_async(lambda: hub.connected))
    yield hub, publisher
    await hub.stop()
    await publisher.aclose()


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def wrapped() -> bool:
        return check()

    return wrapped


async def test_listeners_of_a_channel_each_get_every_message(fake_hub: tuple[PubSubHub, Redis]) -> None:
    hub, publisher = fake_hub
    # Given two listeners on one channel and one on another
    async with hub.listen("c1") as first, hub.listen("c1") as second, hub.listen("c2") as other:
        # When a message is published to the first channel
        await publisher.publish("c1", orjson.dumps({"n": 1}))
        # Then both of its listeners get it, decoded, and the other channel's listener does not
        assert await _next(first) == {"n": 1}
        assert await _next(second) == {"n": 1}
        await _nothing_within(other, 0.2)


async def test_a_channel_is_unsubscribed_when_its_last_listener_leaves(
    fake_hub: tuple[PubSubHub, Redis],
) -> None:
    hub, publisher = fake_hub
    # Given two listeners on a channel
    async with hub.listen("c1"):
        async with hub.listen("c1"):
            assert await _subscribers(publisher, "c1") == 1
        # When one leaves, the channel stays subscribed; when the last leaves, it is not
        assert await _subscribers(publisher, "c1") == 1
    assert await _subscribers(publisher, "c1") == 0
    assert hub.channels == frozenset()


async def test_a_slow_listener_loses_its_backlog_for_a_resync(fake_hub: tuple[PubSubHub, Redis]) -> None:
    hub, publisher = fake_hub
    # Given a listener that reads nothing while more than its queue holds (4) is published
    async with hub.listen("c1") as slow, hub.listen("c1") as fast:
        for n in range(6):
            await publisher.publish("c1", orjson.dumps({"n": n}))
            assert await _next(fast) == {"n": n}  # a fast one is not held up
        # Then it reads a RESYNC where its backlog was, then what came after
        received = [await _next(slow) for _ in range(3)]
        assert received[0] == Resync("overflow")
        assert received[1:] == [{"n": 4}, {"n": 5}]
        assert slow.dropped == 4


async def test_a_message_that_is_not_a_json_object_is_dropped(fake_hub: tuple[PubSubHub, Redis]) -> None:
    hub, publisher = fake_hub
    async with hub.listen("c1") as listener:
        # When garbage is published, then the next good message is what the listener reads
        await publisher.publish("c1", b"not json")
        await publisher.publish("c1", b"[1, 2]")
        await publisher.publish("c1", orjson.dumps({"ok": True}))
        assert await _next(listener) == {"ok": True}


async def test_stopping_the_hub_ends_its_listeners() -> None:
    hub = PubSubHub(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer()))
    await hub.start()
    async with hub.listen("c1") as listener:
        await hub.stop()
        # Then iteration ends instead of waiting forever
        async with asyncio.timeout(WAIT):
            remaining = [item async for item in listener]
        assert all(isinstance(item, Resync) for item in remaining)


async def test_one_connection_serves_every_listener_of_the_process(redis_url: str) -> None:
    # Given a hub on the shared Redis with many listeners on several channels
    hub = PubSubHub(create_pubsub_redis(make_settings()))
    observer = Redis.from_url(redis_url)
    await hub.start()
    try:
        await _eventually(_async(lambda: hub.connected))
        async with (
            hub.listen("taskql:test:a") as a1,
            hub.listen("taskql:test:a"),
            hub.listen("taskql:test:b"),
            hub.listen("taskql:test:c"),
        ):
            await _eventually(lambda: _has_subscribers(observer, "taskql:test:c"))
            # Then Redis sees exactly one pub/sub client of this process, subscribed to three channels
            clients = await _pubsub_clients(observer, client_name())
            assert len(clients) == 1
            assert clients[0]["sub"] == "3"
            assert hub.connections_opened == 1
            await observer.publish("taskql:test:a", orjson.dumps({"n": 1}))
            assert await _next(a1) == {"n": 1}
    finally:
        await hub.stop()
        await observer.aclose()


async def _has_subscribers(redis: Redis, channel: str) -> bool:
    try:
        return await _subscribers(redis, channel) > 0
    except RedisConnectionError:
        return False  # the test's own client, on its first command after the restart


async def _pubsub_clients(redis: Redis, name: str) -> list[dict[str, Any]]:
    clients: list[dict[str, Any]] = await redis.client_list(_type="pubsub")
    return [client for client in clients if client.get("name") == name]


def _restart(server: PrivateRedis) -> None:
    """A new redis-server on the same port, as after a crash and a supervisor's restart."""
    binary = shutil.which("redis-server")
    assert binary is not None
    server.process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [binary, "--port", str(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_listening(server)


@pytest.fixture
def restartable_redis(private_redis: PrivateRedis) -> Iterator[PrivateRedis]:
    """The private server; a replacement started by ``_restart`` is stopped here (the fixture stops
    only the process it started)."""
    first = private_redis.process
    yield private_redis
    if private_redis.process is not first and private_redis.process.poll() is None:
        private_redis.thaw()
        private_redis.kill()


@pytest.fixture
async def private_hub(private_redis: PrivateRedis) -> AsyncIterator[tuple[PubSubHub, Redis]]:
    settings = make_settings(redis_url=private_redis.url, pubsub_keepalive_seconds=0.2)
    hub = PubSubHub.from_settings(settings, RedisBreaker(cooldown_seconds=60).view("pub/sub"))
    publisher = Redis.from_url(private_redis.url, socket_timeout=1, socket_connect_timeout=1)
    await hub.start()
    await _eventually(_async(lambda: hub.connected))
    yield hub, publisher
    await hub.stop()
    await publisher.aclose()


async def test_after_a_redis_restart_listeners_get_a_resync_and_messages_again(
    restartable_redis: PrivateRedis, private_hub: tuple[PubSubHub, Redis]
) -> None:
    hub, publisher = private_hub
    async with hub.listen("c1") as listener:
        await _eventually(lambda: _has_subscribers(publisher, "c1"))
        # When the server is killed and started again on the same port
        restartable_redis.kill()
        started = time.monotonic()
        _restart(restartable_redis)
        # Then within 5 s the listener reads a RESYNC, and the channel is subscribed again
        assert await _next(listener, 5.0) == Resync("reconnected")
        await _eventually(
            lambda: _has_subscribers(publisher, "c1"), within=5.0 - (time.monotonic() - started)
        )
        await publisher.publish("c1", orjson.dumps({"after": True}))
        assert await _next(listener) == {"after": True}
        assert hub.connections_opened == 2


async def test_a_frozen_server_is_noticed_by_the_keepalive(
    private_redis: PrivateRedis, private_hub: tuple[PubSubHub, Redis]
) -> None:
    hub, publisher = private_hub
    async with hub.listen("c1") as listener:
        await _eventually(lambda: _has_subscribers(publisher, "c1"))
        # When the server stops answering (SIGSTOP) for longer than three keepalive periods
        private_redis.freeze()
        await _eventually(_async(lambda: not hub.connected))
        # Then every user of Redis in the process skips it from now on: the hub opened the breaker
        assert hub.breaker is not None
        assert hub.breaker.is_open
        private_redis.thaw()
        # And the hub reconnects by itself, closes the breaker, and the listener is told to resync
        assert await _next(listener) == Resync("reconnected")
        assert hub.breaker.is_closed
        await _eventually(lambda: _has_subscribers(publisher, "c1"))
        await publisher.publish("c1", orjson.dumps({"after": True}))
        assert await _next(listener) == {"after": True}


async def test_a_hub_started_while_redis_is_down_serves_once_it_is_up(
    restartable_redis: PrivateRedis,
) -> None:
    # Given Redis down when the hub starts
    restartable_redis.kill()
    hub = PubSubHub.from_settings(make_settings(redis_url=restartable_redis.url))
    publisher = Redis.from_url(restartable_redis.url, socket_timeout=1, socket_connect_timeout=1)
    started = time.monotonic()
    await hub.start(wait_seconds=0.2)
    try:
        # Then starting does not wait for it
        assert time.monotonic() - started < 1.0
        assert not hub.connected
        async with hub.listen("c1") as listener:
            # When Redis comes up, then the listener (who may have missed messages) is told to resync
            _restart(restartable_redis)
            assert await _next(listener) == Resync("reconnected")
            # And messages flow
            await _eventually(lambda: _has_subscribers(publisher, "c1"))
            await publisher.publish("c1", orjson.dumps({"n": 1}))
            assert await _next(listener) == {"n": 1}
    finally:
        await hub.stop()
        await publisher.aclose()
