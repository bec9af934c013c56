"""Subscriptions over WebSockets, against real uvicorn processes on MariaDB and Redis.

The relay is imitated: the test PUBLISHes the message the relay would to `<prefix>:project:{id}` (or
`<prefix>:user:{id}`), with a task id that exists in the organization the test made. Both protocols
(graphql-transport-ws and the legacy graphql-ws) are run where the behaviour is the protocol's.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import delete, select, update
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin, Subprotocol

from perf.shared.private_redis import PrivateRedis, wait_until_listening
from persistence.enums import OrgRole, ProjectRole
from persistence.models import Event as EventRow
from persistence.models import ProjectMember, User
from persistence.models import Task as TaskRow
from persistence.models.base import utcnow
from persistence.pubsub import client_name, project_channel, user_channel
from persistence.queries.events import NewEvent, insert_task_event
from persistence.relay import event_message
from persistence.seed import SeededOrganization
from resolvers.context import Services
from resolvers.tokens import issue_access_token, read_access_token
from schema.core.ids import encode_id
from tests import services as test_services
from tests.conftest import GraphQLClient
from tests.scrape import sample

ROOT = Path(__file__).resolve().parents[2]
TRANSPORT, LEGACY = "graphql-transport-ws", "graphql-ws"
PROTOCOLS = [TRANSPORT, LEGACY]
ALLOWED_ORIGIN = "https://app.taskql.test"
INIT_TIMEOUT_SECONDS = 1.0
MAX_MESSAGE_BYTES = 64 * 1024
WAIT = 5.0
QUIET = 0.3  # how long "nothing arrives" is watched for
STARTUP_SECONDS = 30
TASK_EVENTS = """
subscription($projectId: ID!) {
  taskEvents(projectId: $projectId) { type sequence eventId taskId occurredAt task { id title } }
}"""
NOTIFICATIONS = """
subscription { notificationAdded { type notification { id kind createdAt task { id title } } } }"""
TASK_VERSION = "query($id: ID!) { node(id: $id) { ... on Task { version } } }"
TASK_UPDATE = "mutation($i: TaskUpdateInput!) { taskUpdate(input: $i) { errors { code message } } }"
MakeOrg = Callable[..., Awaitable[SeededOrganization]]
# Event ids far above what the tests' database holds, so a relay's own messages never look like ours.
_event_ids = itertools.count(10**12 + random.randrange(10**9))  # noqa: S311 - not cryptography


# --- servers -----------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, as a deployment stops it; the log must show no traceback."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
                pytest.fail(f"the server did not stop on SIGTERM:\n{self.output()}")
        assert "Traceback" not in self.output(), self.output()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_server(tmp: Path, redis_url: str, settings: dict[str, str] | None = None) -> Server:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    env |= {
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": redis_url,
        "TASKQL_REDIS_CHANNEL_PREFIX": test_services.CHANNEL_PREFIX,
        "TASKQL_ENVIRONMENT": "test",
        "TASKQL_MIGRATE_ON_START": "false",
        "TASKQL_SEED_DEMO_DATA": "false",
        "TASKQL_WS_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
        "TASKQL_WS_CONNECTION_INIT_TIMEOUT_SECONDS": str(INIT_TIMEOUT_SECONDS),
        "TASKQL_WS_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
    }
    env |= settings or {}
    log = tmp / f"server-{port}.log"
    arguments = [sys.executable, "-m", "uvicorn", "schema.app:create_app", "--factory"]
    arguments += ["--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "5"]
    with log.open("wb") as out:
        process = subprocess.Popen(arguments, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    server = Server(port, process, log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1, trust_env=False).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    process.wait(timeout=5)
    pytest.fail(f"not healthy within {STARTUP_SECONDS} s:\n{server.output()}")


@pytest.fixture(scope="module")
def server(database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = _start_server(tmp_path_factory.mktemp("ws"), redis_url)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def second_server(
    database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    running = _start_server(tmp_path_factory.mktemp("ws2"), redis_url)
    yield running
    running.stop()


# --- a GraphQL WebSocket client, either protocol --------------------------------------------------


class Client:
    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, within: float = WAIT) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                message: dict[str, Any] = json.loads(await self.ws.recv())
                if message["type"] not in ("ka", "pong"):
                    return message

    async def init(self, payload: dict[str, Any]) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT else "start"
        await self.send(
            {"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}}
        )

    async def next_data(self, op_id: str, within: float = WAIT) -> dict[str, Any]:
        """The next payload for the operation (`next` or `data`); anything else fails the test."""
        message = await self.receive(within)
        assert message.get("id") == op_id, message
        assert message["type"] in ("next", "data"), message
        payload: dict[str, Any] = message["payload"]
        return payload

    async def nothing(self, seconds: float = QUIET) -> None:
        with pytest.raises(TimeoutError):
            await self.receive(seconds)

    async def close_code(self, within: float = WAIT) -> int | None:
        """Waits for the server to close the connection; what it sent before is skipped."""
        async with asyncio.timeout(within):
            try:
                while True:
                    await self.ws.recv()
            except ConnectionClosed:
                return self.ws.close_code


@asynccontextmanager
async def opened(server: Server, protocol: str, *, origin: str | None = None) -> AsyncIterator[Client]:
    async with connect(
        server.ws_url,
        subprotocols=[Subprotocol(protocol)],
        origin=None if origin is None else Origin(origin),
        proxy=None,
        open_timeout=WAIT,
        close_timeout=1,
    ) as ws:
        yield Client(ws, protocol)


@asynccontextmanager
async def subscribed(server: Server, protocol: str, token: str) -> AsyncIterator[Client]:
    async with opened(server, protocol) as client:
        ack = await client.init({"authorization": f"Bearer {token}"})
        assert ack["type"] == "connection_ack", ack
        yield client


def _error_codes(errors: list[dict[str, Any]] | dict[str, Any]) -> list[str]:
    listed = errors if isinstance(errors, list) else [errors]
    return [error["extensions"]["code"] for error in listed]


async def _subscription_error(client: Client, op_id: str) -> list[str]:
    """The codes of the `error` message that refused the operation (both protocols)."""
    message = await client.receive()
    assert message == {**message, "id": op_id, "type": "error"}, message
    return _error_codes(message["payload"])


# --- the relay, imitated -------------------------------------------------------------------------


async def _subscribers(redis: Redis, channel: str) -> int:
    counts: list[tuple[bytes | str, int]] = await redis.pubsub_numsub(channel)
    return counts[0][1]


async def wait_for_subscribers(redis: Redis, channel: str, count: int = 1, within: float = WAIT) -> None:
    """Until the servers' hubs have subscribed the channel (a message before that is not for them)."""
    deadline = time.monotonic() + within
    while True:
        try:
            if await _subscribers(redis, channel) >= count:
                return
        except RedisConnectionError:
            pass  # the test's own client, on its first command after a Redis restart
        assert time.monotonic() < deadline, f"{channel} has not {count} subscriber(s)"
        await asyncio.sleep(0.02)


async def wait_for_listening(server: Server, count: int, within: float = WAIT) -> None:
    """Until exactly ``count`` subscriptions of the server listen on their channels (its
    `graphql_subscriptions_listening`). With several subscribers of one channel, the channel's hub
    subscription shows only the first is in; an event published before the others listen misses
    them. 0 first, before a test opens its own: the previous test's may still be closing."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", trust_env=False) as http:
        while (now := sample((await http.get("/metrics")).text, "graphql_subscriptions_listening")) != count:
            assert time.monotonic() < deadline, f"{now:g} subscriptions listening, not {count}"
            await asyncio.sleep(0.02)


async def publish_task_event(
    services: Services, redis: Redis | None, member: Member, *, kind: str = "task.updated"
) -> int:
    """Appends a real event about the member's task (its sequence the project's next) and publishes
    the relay's message for it; marked published, so the server's relay does not send it again.
    ``redis`` None: published into a Redis that is down, so the message reached nobody."""
    now = utcnow()
    event = NewEvent(member.org.organization_id, None, member.task_id, None, kind, {})
    async with services.db.unit_of_work() as conn:
        event_id, _ = await insert_task_event(conn, event, now)
        await conn.execute(update(EventRow).where(EventRow.id == event_id).values(published_at=now))
        row = (await conn.execute(select(EventRow.__table__).where(EventRow.id == event_id))).one()
    if redis is not None:
        await redis.publish(
            project_channel(test_services.CHANNEL_PREFIX, member.project_id), event_message(row)
        )
    return event_id


async def sequence_of(services: Services, event_id: int) -> int:
    async with services.db.read() as conn:
        sequence = await conn.scalar(select(EventRow.sequence).where(EventRow.id == event_id))
    assert isinstance(sequence, int)
    return sequence


# --- who subscribes ------------------------------------------------------------------------------


@dataclass
class Member:
    """A plain member of one project of the organization, and not of another."""

    org: SeededOrganization
    user_id: int
    token: str
    project_id: int
    hidden_project_id: int
    task_id: int


async def make_member(services: Services, gql: GraphQLClient, org: SeededOrganization) -> Member:
    async with services.db.read() as conn:
        rows = (
            await conn.execute(
                select(User.id, User.email, ProjectMember.project_id)
                .join(ProjectMember, ProjectMember.user_id == User.id)
                .where(User.organization_id == org.organization_id, User.role == OrgRole.MEMBER)
                .order_by(User.id)
            )
        ).all()
        projects_of: dict[tuple[int, str], set[int]] = {}
        for row in rows:
            projects_of.setdefault((row.id, row.email), set()).add(row.project_id)
        partial = [
            (user_id, email, min(mine), min(set(org.project_ids) - mine))
            for (user_id, email), mine in projects_of.items()
            if set(org.project_ids) - mine
        ]
    if not partial:
        # The seed made every member a member of every project: take one out of the last project.
        (user_id, email), mine = next(iter(projects_of.items()))
        hidden = max(mine)
        async with services.db.unit_of_work() as conn:
            await conn.execute(
                delete(ProjectMember).where(
                    ProjectMember.user_id == user_id, ProjectMember.project_id == hidden
                )
            )
        partial = [(user_id, email, min(mine - {hidden}), hidden)]
    user_id, email, project_id, hidden = partial[0]
    async with services.db.read() as conn:
        task_id = (
            await conn.execute(
                select(TaskRow.id)
                .where(TaskRow.project_id == project_id, TaskRow.deleted_at.is_(None))
                .order_by(TaskRow.id)
                .limit(1)
            )
        ).scalar_one()
    return Member(org, user_id, await gql.login(email), project_id, hidden, task_id)


@pytest.fixture
async def member(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> Member:
    return await make_member(services, gql, await make_org())


def _project_variables(project_id: int) -> dict[str, Any]:
    return {"projectId": encode_id("Project", project_id)}


# --- delivery ------------------------------------------------------------------------------------


async def _rename(services: Services, task_id: int) -> str:
    title = f"Renamed {next(_event_ids)}"
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(TaskRow).where(TaskRow.id == task_id).values(title=title))
    return title


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_event_reaches_the_subscriber_with_the_task_read_fresh(
    server: Server, redis: Redis, services: Services, member: Member, protocol: str
) -> None:
    # Given a member subscribed to the events of their project
    async with subscribed(server, protocol, member.token) as client:
        await client.subscribe("1", TASK_EVENTS, _project_variables(member.project_id))
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        # When the relay publishes a change to a task
        title = await _rename(services, member.task_id)
        event_id = await publish_task_event(services, redis, member)
        # Then the subscriber gets the event with the task as it is
        payload = await client.next_data("1")
        assert "errors" not in payload, payload
        event = payload["data"]["taskEvents"]
        assert event["type"] == "UPDATED"
        assert event["eventId"] == encode_id("ActivityEvent", event_id)
        assert event["sequence"] == await sequence_of(services, event_id)
        assert event["taskId"] == encode_id("Task", member.task_id)
        assert event["task"] == {"id": encode_id("Task", member.task_id), "title": title}
        # And the next event reads the task again (loaders are per event, not per connection)
        renamed = await _rename(services, member.task_id)
        await publish_task_event(services, redis, member, kind="task.moved")
        moved = (await client.next_data("1"))["data"]["taskEvents"]
        assert (moved["type"], moved["task"]["title"]) == ("MOVED", renamed)
        # And a deleted task's event names the task but carries none
        await publish_task_event(services, redis, member, kind="task.deleted")
        deleted = (await client.next_data("1"))["data"]["taskEvents"]
        assert (deleted["type"], deleted["taskId"], deleted["task"]) == (
            "DELETED",
            encode_id("Task", member.task_id),
            None,
        )


async def test_notifications_reach_only_their_user(
    server: Server, redis: Redis, member: Member, services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given a member subscribed to their notifications
    async with subscribed(server, TRANSPORT, member.token) as client:
        await client.subscribe("n", NOTIFICATIONS)
        await wait_for_subscribers(redis, user_channel(test_services.CHANNEL_PREFIX, member.user_id))
        # When the relay publishes one for another user, then one for this member
        other = {"notification_id": 1, "user_id": member.user_id + 1, "kind": "assigned", "event_id": 1}
        await redis.publish(
            user_channel(test_services.CHANNEL_PREFIX, member.user_id + 1), orjson.dumps(other)
        )
        mine = {
            "notification_id": 77,
            "user_id": member.user_id,
            "kind": "assigned",
            "event_id": 5,
            "task_id": member.task_id,
            "created_at": datetime.now(UTC).isoformat(),
        }
        await redis.publish(user_channel(test_services.CHANNEL_PREFIX, member.user_id), orjson.dumps(mine))
        # Then only their own arrives, with its task
        event = (await client.next_data("n"))["data"]["notificationAdded"]
        assert event["type"] == "ADDED"
        notification = event["notification"]
        assert notification["id"] == encode_id("Notification", 77)
        assert notification["kind"] == "ASSIGNED"
        assert notification["task"]["id"] == encode_id("Task", member.task_id)
        await client.nothing()


# --- authentication at connection_init -----------------------------------------------------------


def _expired_token(services: Services, valid_token: str) -> str:
    claims = read_access_token(services.settings, valid_token)
    long_ago = utcnow() - timedelta(seconds=services.settings.access_token_ttl_seconds + 60)
    return issue_access_token(
        services.settings, user_id=claims.user_id, session_id=claims.session_id, now=long_ago
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("presented", ["none", "null", "bad", "expired", "not bearer"])
async def test_connection_init_without_a_valid_token_closes_4401(
    server: Server, services: Services, member: Member, protocol: str, presented: str
) -> None:
    payload: dict[str, Any] | None = {
        "none": {},
        "null": None,
        "bad": {"token": "not-a-jwt"},
        "expired": {"authorization": f"Bearer {_expired_token(services, member.token)}"},
        "not bearer": {"authorization": f"Basic {member.token}"},
    }[presented]
    async with opened(server, protocol) as client:
        # When the connection is initialised without a valid token
        await client.send({"type": "connection_init", "payload": payload})
        if protocol == LEGACY:  # the legacy protocol says why first
            error = await client.receive()
            assert error["type"] == "connection_error"
            assert _error_codes(error["payload"]) == ["UNAUTHENTICATED"]
        # Then the server closes it with 4401
        assert await client.close_code() == 4401


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_subscription_before_connection_init_closes_4401(server: Server, protocol: str) -> None:
    async with opened(server, protocol) as client:
        await client.subscribe("1", TASK_EVENTS, _project_variables(1))
        assert await client.close_code() == 4401


async def test_the_token_may_also_come_as_token(server: Server, member: Member) -> None:
    async with opened(server, TRANSPORT) as client:
        assert (await client.init({"token": member.token}))["type"] == "connection_ack"


# --- authorization -------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_project_the_subscriber_may_not_see_is_not_found_and_nothing_is_delivered(
    server: Server, redis: Redis, member: Member, make_org: MakeOrg, protocol: str
) -> None:
    foreign = await make_org()
    async with subscribed(server, protocol, member.token) as client:
        # When the member subscribes to a project of their organization they are not in,
        # and to a project of another organization
        await client.subscribe("hidden", TASK_EVENTS, _project_variables(member.hidden_project_id))
        assert await _subscription_error(client, "hidden") == ["NOT_FOUND"]
        await client.subscribe("foreign", TASK_EVENTS, _project_variables(foreign.project_ids[0]))
        assert await _subscription_error(client, "foreign") == ["NOT_FOUND"]
        # Then the server never listens to either project, and the events published there do not arrive
        for project_id in (member.hidden_project_id, foreign.project_ids[0]):
            assert await _subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, project_id)) == 0
            message = {"event_id": 1, "type": "task.created", "project_id": project_id, "task_id": 1}
            await redis.publish(
                project_channel(test_services.CHANNEL_PREFIX, project_id), orjson.dumps(message)
            )
        await client.nothing()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_member_removed_from_the_project_stops_receiving_its_events(
    server: Server, redis: Redis, services: Services, member: Member, protocol: str
) -> None:
    # Given a member receiving their project's events
    async with subscribed(server, protocol, member.token) as client:
        await client.subscribe("1", TASK_EVENTS, _project_variables(member.project_id))
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        await publish_task_event(services, redis, member)
        assert (await client.next_data("1"))["data"]["taskEvents"]["type"] == "UPDATED"
        # When they are removed from the project
        async with services.db.unit_of_work() as conn:
            await conn.execute(
                delete(ProjectMember).where(
                    ProjectMember.project_id == member.project_id, ProjectMember.user_id == member.user_id
                )
            )
        # Then the next event is not delivered: the subscription ends with NOT_FOUND
        await publish_task_event(services, redis, member, kind="task.created")
        ended = await client.next_data("1")
        assert ended["data"] is None
        assert _error_codes(ended["errors"]) == ["NOT_FOUND"]
        assert await client.receive() == {"id": "1", "type": "complete"}
        await client.nothing()
        # And the server stops listening to the project
        await _until_unsubscribed(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))


async def _until_unsubscribed(redis: Redis, channel: str) -> None:
    deadline = time.monotonic() + WAIT
    while await _subscribers(redis, channel) > 0:
        assert time.monotonic() < deadline, f"{channel} is still subscribed"
        await asyncio.sleep(0.02)


async def test_a_logged_out_session_stops_receiving(
    server: Server, redis: Redis, services: Services, gql: GraphQLClient, member: Member
) -> None:
    async with subscribed(server, TRANSPORT, member.token) as client:
        await client.subscribe("1", TASK_EVENTS, _project_variables(member.project_id))
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        # When the session logs out
        body = await gql.as_user(member.token).run("mutation { authLogout { ok } }")
        assert body["data"] == {"authLogout": {"ok": True}}, body
        # Then the next event ends the subscription with UNAUTHENTICATED instead
        await publish_task_event(services, redis, member)
        ended = await client.next_data("1")
        assert ended["data"] is None
        assert _error_codes(ended["errors"]) == ["UNAUTHENTICATED"]


# --- limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_eleventh_subscription_is_refused_and_the_connection_stays(
    server: Server, redis: Redis, services: Services, member: Member, protocol: str
) -> None:
    async with subscribed(server, protocol, member.token) as client:
        # Given ten subscriptions on one connection
        for n in range(10):
            await client.subscribe(str(n), TASK_EVENTS, _project_variables(member.project_id))
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        # When an eleventh is asked for, then it is refused
        await client.subscribe("10", TASK_EVENTS, _project_variables(member.project_id))
        assert await _subscription_error(client, "10") == ["LIMIT_EXCEEDED"]
        # And the ten still receive
        await asyncio.sleep(0.2)  # the last of the ten has joined the process's listeners
        await publish_task_event(services, redis, member)
        received = {(await client.receive())["id"] for _ in range(10)}
        assert received == {str(n) for n in range(10)}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_only_subscriptions_run_over_websocket(server: Server, member: Member, protocol: str) -> None:
    async with subscribed(server, protocol, member.token) as client:
        await client.subscribe("q", "{ viewer { user { id } } }")
        assert await _subscription_error(client, "q") == ["BAD_USER_INPUT"]
        await client.subscribe("v", "subscription { taskEvents { type } }")
        assert await _subscription_error(client, "v") == ["GRAPHQL_VALIDATION_FAILED"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_connection_not_initialised_in_time_is_closed(server: Server, protocol: str) -> None:
    async with opened(server, protocol) as client:
        started = time.monotonic()
        assert await client.close_code(INIT_TIMEOUT_SECONDS + WAIT) == 4408
        assert time.monotonic() - started < INIT_TIMEOUT_SECONDS + 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_oversized_message_closes_the_connection(
    server: Server, member: Member, protocol: str
) -> None:
    async with subscribed(server, protocol, member.token) as client:
        padding = "x" * MAX_MESSAGE_BYTES
        await client.subscribe("big", f"subscription {{ notificationAdded {{ type }} }} # {padding}")
        assert await client.close_code() == 1009


async def test_a_browser_page_from_an_unlisted_origin_is_refused(server: Server, member: Member) -> None:
    # When a page from an unlisted origin opens a WebSocket, then the handshake is refused
    with pytest.raises(InvalidStatus) as refused:
        async with opened(server, TRANSPORT, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    # And the same server's own address is no exception (same-origin is not implied)
    with pytest.raises(InvalidStatus):
        async with opened(server, TRANSPORT, origin=f"http://127.0.0.1:{server.port}"):
            pass
    # While a listed origin connects
    async with opened(server, TRANSPORT, origin=ALLOWED_ORIGIN) as client:
        assert (await client.init({"token": member.token}))["type"] == "connection_ack"


# --- fan-out across processes, one connection per process -----------------------------------------


async def test_a_message_reaches_subscribers_on_every_process(
    server: Server, second_server: Server, redis: Redis, services: Services, member: Member
) -> None:
    # Given the member subscribed on two server processes
    async with (
        subscribed(server, TRANSPORT, member.token) as on_a,
        subscribed(second_server, TRANSPORT, member.token) as on_b,
    ):
        await on_a.subscribe("a", TASK_EVENTS, _project_variables(member.project_id))
        await on_b.subscribe("b", TASK_EVENTS, _project_variables(member.project_id))
        await wait_for_subscribers(
            redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id), count=2
        )
        # When one event is published once (a relay runs in any one process)
        event_id = await publish_task_event(services, redis, member)
        # Then both processes deliver it
        for client, op_id in ((on_a, "a"), (on_b, "b")):
            event = (await client.next_data(op_id))["data"]["taskEvents"]
            assert event["eventId"] == encode_id("ActivityEvent", event_id)


async def test_a_mutation_on_one_process_reaches_a_subscriber_on_another(
    server: Server, second_server: Server, redis: Redis, gql: GraphQLClient, member: Member
) -> None:
    """End to end, with the real relay: taskUpdate on process A, the subscriber on process B."""
    # Given the organization's owner (who may edit every task), subscribed on process B
    token = await gql.login(member.org.owner_email)
    task_id = encode_id("Task", member.task_id)
    async with subscribed(second_server, TRANSPORT, token) as on_b:
        await on_b.subscribe("b", TASK_EVENTS, _project_variables(member.project_id))
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        # When the owner renames the task through process A
        headers = {"authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", trust_env=False) as http:
            read = (
                await http.post(
                    "/graphql", json={"query": TASK_VERSION, "variables": {"id": task_id}}, headers=headers
                )
            ).json()
            assert read.get("data"), read
            title = f"Renamed on A {next(_event_ids)}"
            update = {"id": task_id, "version": read["data"]["node"]["version"], "title": title}
            written = (
                await http.post(
                    "/graphql", json={"query": TASK_UPDATE, "variables": {"i": update}}, headers=headers
                )
            ).json()
            assert written.get("data"), written
            assert written["data"]["taskUpdate"]["errors"] == [], written
        # Then the subscriber on process B gets the event, with the task as renamed
        event = (await on_b.next_data("b"))["data"]["taskEvents"]
        assert (event["type"], event["taskId"], event["task"]["title"]) == ("UPDATED", task_id, title)
        assert isinstance(event["sequence"], int)


async def test_a_process_holds_one_pubsub_connection_for_all_its_subscriptions(
    server: Server, redis: Redis, services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given the organization's owner (who sees every project), subscribed over two connections to
    # three projects, several times each
    org = await make_org()
    token = await gql.login(org.owner_email)
    async with subscribed(server, TRANSPORT, token) as first, subscribed(server, TRANSPORT, token) as second:
        for n, project_id in enumerate(org.project_ids * 2):
            for client in (first, second):
                await client.subscribe(f"{n}", TASK_EVENTS, _project_variables(project_id))
        for project_id in org.project_ids:
            await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, project_id))
        # Then Redis sees one pub/sub connection of that process
        clients = await redis.client_list(_type="pubsub")
        mine = [c for c in clients if c.get("name") == f"taskql-pubsub-{server.process.pid}"]
        assert len(mine) == 1, clients
        assert int(mine[0]["sub"]) >= len(org.project_ids)
    assert client_name().startswith("taskql-pubsub-")


async def test_a_subscription_counts_as_listening_from_its_start_to_its_end(
    server: Server, member: Member
) -> None:
    await wait_for_listening(server, 0)
    async with subscribed(server, TRANSPORT, member.token) as client:
        for op_id in ("1", "2"):
            await client.subscribe(op_id, TASK_EVENTS, _project_variables(member.project_id))
        await wait_for_listening(server, 2)
        await client.send({"id": "1", "type": "complete"})
        await wait_for_listening(server, 1)
    # The connection closed with its last subscription still running.
    await wait_for_listening(server, 0)


# --- Redis restarts ------------------------------------------------------------------------------


def _restart(redis_server: PrivateRedis) -> None:
    """A new redis-server on the same port, as after a crash and a supervisor's restart."""
    binary = shutil.which("redis-server")
    assert binary is not None
    redis_server.process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [binary, "--port", str(redis_server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_listening(redis_server)


@pytest.fixture
def restartable_redis(private_redis: PrivateRedis) -> Iterator[PrivateRedis]:
    first = private_redis.process
    yield private_redis
    if private_redis.process is not first and private_redis.process.poll() is None:
        private_redis.thaw()
        private_redis.kill()


async def test_after_a_redis_restart_what_was_relayed_meanwhile_is_filled_in_without_resync(
    database: str, services: Services, restartable_redis: PrivateRedis, member: Member, tmp_path: Path
) -> None:
    # Given a server whose Redis is a private redis-server, and a subscriber
    private = _start_server(tmp_path, restartable_redis.url)
    publisher = Redis.from_url(restartable_redis.url, socket_timeout=1, socket_connect_timeout=1)
    channel = project_channel(test_services.CHANNEL_PREFIX, member.project_id)
    try:
        async with subscribed(private, TRANSPORT, member.token) as client:
            await client.subscribe("1", TASK_EVENTS, _project_variables(member.project_id))
            await wait_for_subscribers(publisher, channel)
            # When Redis is killed, an event is relayed while the server is not subscribed (its
            # message reaches nobody), and Redis is started again on the same port
            restartable_redis.kill()
            missed = await publish_task_event(services, None, member)
            started = time.monotonic()
            _restart(restartable_redis)
            # Then within 5 s the subscriber gets the missed event from the log, and no RESYNC
            event = (await client.next_data("1", within=5.0))["data"]["taskEvents"]
            assert time.monotonic() - started < 5.0
            assert (event["type"], event["eventId"]) == ("UPDATED", encode_id("ActivityEvent", missed))
            assert event["sequence"] == await sequence_of(services, missed)
            # And live events follow it, in order, without a duplicate
            await wait_for_subscribers(publisher, channel)
            event_id = await publish_task_event(services, publisher, member)
            event = (await client.next_data("1"))["data"]["taskEvents"]
            assert event["eventId"] == encode_id("ActivityEvent", event_id)
            assert event["sequence"] == await sequence_of(services, missed) + 1
            await client.nothing()
    finally:
        await publisher.aclose()
        private.stop()


async def test_subscribers_of_one_event_are_each_judged_on_their_own(
    server: Server, redis: Redis, services: Services, gql: GraphQLClient, member: Member
) -> None:
    """The event's reads are shared by its subscribers in a process; the decision is not."""
    owner_token = await gql.login(member.org.owner_email)
    channel = project_channel(test_services.CHANNEL_PREFIX, member.project_id)
    await wait_for_listening(server, 0)
    async with (
        subscribed(server, TRANSPORT, member.token) as removed,
        subscribed(server, TRANSPORT, owner_token) as owner,
    ):
        await removed.subscribe("1", TASK_EVENTS, _project_variables(member.project_id))
        await owner.subscribe("1", TASK_EVENTS, _project_variables(member.project_id))
        await wait_for_subscribers(redis, channel)
        await wait_for_listening(server, 2)
        await publish_task_event(services, redis, member)
        for client in (removed, owner):
            assert (await client.next_data("1"))["data"]["taskEvents"]["type"] == "UPDATED"
        async with services.db.unit_of_work() as conn:
            await conn.execute(
                delete(ProjectMember).where(
                    ProjectMember.project_id == member.project_id, ProjectMember.user_id == member.user_id
                )
            )
        title = await _rename(services, member.task_id)
        await publish_task_event(services, redis, member)
        delivered = (await owner.next_data("1"))["data"]["taskEvents"]
        assert delivered["task"]["title"] == title
        ended = await removed.next_data("1")
        assert ended["data"] is None
        assert _error_codes(ended["errors"]) == ["NOT_FOUND"]


def _counter(metrics: str, name: str, mode: str) -> float:
    line = next((x for x in metrics.splitlines() if x.startswith(f'{name}{{mode="{mode}"}}')), None)
    return 0.0 if line is None else float(line.rsplit(" ", 1)[1])


async def _executions(server: Server) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", trust_env=False) as http:
        metrics = (await http.get("/metrics")).text
    return {
        mode: _counter(metrics, "graphql_subscription_executions_total", mode) for mode in ("own", "shared")
    }


VIEWER_ROLE_EVENTS = """
subscription($projectId: ID!) {
  taskEvents(projectId: $projectId) { type task { title project { viewerRole } } }
}"""


async def test_subscribers_with_the_same_selection_share_one_execution_of_an_event(
    server: Server, redis: Redis, services: Services, gql: GraphQLClient, member: Member
) -> None:
    """Three subscribers of one project on one process, two documents: the one whose every field is the
    same for all who may see the event runs once for its two subscribers, and both get the same bytes;
    the one asking for the viewer's role runs for its subscriber alone."""
    owner_token = await gql.login(member.org.owner_email)
    channel = project_channel(test_services.CHANNEL_PREFIX, member.project_id)
    variables = _project_variables(member.project_id)
    await wait_for_listening(server, 0)
    async with (
        subscribed(server, TRANSPORT, member.token) as plain_member,
        subscribed(server, TRANSPORT, owner_token) as plain_owner,
        subscribed(server, TRANSPORT, owner_token) as role_owner,
    ):
        await plain_member.subscribe("1", TASK_EVENTS, variables)
        await plain_owner.subscribe("1", TASK_EVENTS, variables)
        await role_owner.subscribe("1", VIEWER_ROLE_EVENTS, variables)
        await wait_for_subscribers(redis, channel)
        await wait_for_listening(server, 3)
        before = await _executions(server)
        await publish_task_event(services, redis, member)
        answers = [await client.next_data("1") for client in (plain_member, plain_owner)]
        role = await role_owner.next_data("1")
        after = await _executions(server)
    assert answers[0] == answers[1]
    assert answers[0]["data"]["taskEvents"]["task"]["id"] == encode_id("Task", member.task_id)
    assert role["data"]["taskEvents"]["task"]["project"]["viewerRole"] == "ADMIN"
    assert after["shared"] - before["shared"] == 1
    assert after["own"] - before["own"] == 1


async def test_a_viewer_dependent_field_is_answered_for_each_subscriber(
    server: Server, redis: Redis, services: Services, gql: GraphQLClient, member: Member
) -> None:
    """The same document for an owner and a viewer of the project: each sees its own role, never the
    other's (the owner's answer is computed first, then the viewer's)."""
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            update(ProjectMember)
            .where(ProjectMember.project_id == member.project_id, ProjectMember.user_id == member.user_id)
            .values(role=ProjectRole.VIEWER)
        )
    owner_token = await gql.login(member.org.owner_email)
    channel = project_channel(test_services.CHANNEL_PREFIX, member.project_id)
    variables = _project_variables(member.project_id)
    await wait_for_listening(server, 0)
    async with (
        subscribed(server, TRANSPORT, owner_token) as as_owner,
        subscribed(server, TRANSPORT, member.token) as as_viewer,
    ):
        await as_owner.subscribe("1", VIEWER_ROLE_EVENTS, variables)
        await as_viewer.subscribe("1", VIEWER_ROLE_EVENTS, variables)
        await wait_for_subscribers(redis, channel)
        await wait_for_listening(server, 2)
        await publish_task_event(services, redis, member)
        owner_role = (await as_owner.next_data("1"))["data"]["taskEvents"]["task"]["project"]["viewerRole"]
        viewer_role = (await as_viewer.next_data("1"))["data"]["taskEvents"]["task"]["project"]["viewerRole"]
    assert (owner_role, viewer_role) == ("ADMIN", "VIEWER")
