"""A connection that cannot keep up is closed (1013) and counted; the other subscribers of the same
events are not held back by it. A real uvicorn process, real Redis and MariaDB, and a client that
stops reading its socket."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import update
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from persistence.models import Task as TaskRow
from persistence.pubsub import project_channel
from persistence.queries.event_log import project_event_head
from resolvers.context import Services
from tests import services as test_services
from tests.conftest import GraphQLClient
from tests.schema.test_subscriptions import (
    TRANSPORT,
    WAIT,
    Client,
    MakeOrg,
    Member,
    Server,
    _project_variables,
    _start_server,
    make_member,
    publish_task_event,
    subscribed,
    wait_for_subscribers,
)

QUEUE_FRAMES = 8
LAG_SECONDS = 2.0
EVENTS = 80
# Large frames fill the socket's buffers after a few events, so the server's queue is what grows.
DESCRIPTION = "x" * 60_000
BIG_EVENTS = """
subscription($projectId: ID!, $after: Int) {
  taskEvents(projectId: $projectId, afterSequence: $after) { sequence task { description } }
}"""
SMALL_EVENTS = """
subscription($projectId: ID!, $after: Int) {
  taskEvents(projectId: $projectId, afterSequence: $after) { sequence task { id } }
}"""


@pytest.fixture(scope="module")
def server(database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = {
        "TASKQL_WS_SEND_QUEUE_FRAMES": str(QUEUE_FRAMES),
        "TASKQL_WS_SEND_LAG_SECONDS": str(LAG_SECONDS),
    }
    running = _start_server(tmp_path_factory.mktemp("slow-ws"), redis_url, settings)
    yield running
    running.stop()


@pytest.fixture
async def member(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> Member:
    return await make_member(services, gql, await make_org())


async def _slow_consumers(server: Server) -> float:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", trust_env=False) as http:
        metrics = (await http.get("/metrics")).text
    line = next((x for x in metrics.splitlines() if x.startswith("websocket_slow_consumers_total ")), None)
    return 0.0 if line is None else float(line.rsplit(" ", 1)[1])


def _small_window(server: Server) -> socket.socket:
    """A client socket with a small receive buffer: once its reader stops, the server's writes stall
    after a few frames instead of filling megabytes of kernel buffers first."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    return sock


async def _until_closed(ws: ClientConnection) -> int:
    """Reads until the server closes the connection; how many frames came before."""
    frames = 0
    async with asyncio.timeout(LAG_SECONDS * 2 + WAIT):
        try:
            while True:
                await ws.recv()
                frames += 1
        except ConnectionClosed:
            return frames


async def test_a_connection_that_stops_reading_is_closed_and_the_others_get_every_event(
    server: Server, redis: Redis, services: Services, member: Member
) -> None:
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            update(TaskRow).where(TaskRow.id == member.task_id).values(description=DESCRIPTION)
        )
    variables = _project_variables(member.project_id)
    async with services.db.read() as conn:
        head = await project_event_head(conn, member.project_id)
    before = await _slow_consumers(server)
    # The stalled client's library buffers at most one message, then stops reading the socket.
    async with (
        connect(
            server.ws_url,
            subprotocols=[Subprotocol(TRANSPORT)],
            sock=_small_window(server),
            max_queue=1,
            compression=None,  # compressed, the large frames would be small ones
        ) as stalled_ws,
        subscribed(server, TRANSPORT, member.token) as keeping_up,
    ):
        stalled = Client(stalled_ws, TRANSPORT)
        assert (await stalled.init({"authorization": f"Bearer {member.token}"}))["type"] == "connection_ack"
        # Both resume from the head read above: the hub's channel is subscribed once the first of the
        # two listens, so events may go out before the other starts; its cursor makes it get them all
        # the same (a stalled one that started late would otherwise get nothing and never fall behind).
        await stalled.subscribe("1", BIG_EVENTS, {**variables, "after": head})
        await keeping_up.subscribe("1", SMALL_EVENTS, {**variables, "after": head})
        await wait_for_subscribers(redis, project_channel(test_services.CHANNEL_PREFIX, member.project_id))
        for _ in range(EVENTS):
            await publish_task_event(services, redis, member)
        # The one that reads gets every event, in time, whatever the stalled one does.
        received = [await keeping_up.next_data("1") for _ in range(EVENTS)]
        assert len({r["data"]["taskEvents"]["sequence"] for r in received}) == EVENTS
        deadline = time.monotonic() + WAIT
        while await _slow_consumers(server) == before:
            assert time.monotonic() < deadline, "the stalled connection was never found slow"
            await asyncio.sleep(0.1)
        # Reading again, the stalled client drains what its socket held, then gets the close.
        frames = await _until_closed(stalled_ws)
        assert stalled_ws.close_code == 1013
        assert (stalled_ws.close_reason or "").startswith("Slow consumer")
        assert 0 < frames < EVENTS + 1  # the ack is among them; the backlog past the bound was dropped
    assert await _slow_consumers(server) == before + 1
