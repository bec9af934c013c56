"""What the live ops tests share: a real server, an operator and a member, a WebSocket client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select, update
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from persistence.enums import OrgRole
from persistence.models import User
from persistence.seed import SeededOrganization
from resolvers.context import Services
from tests import services as test_services
from tests.conftest import GraphQLClient

WAIT = 10.0
OPS = """
subscription($interval: Int!) {
  opsMetrics(intervalSeconds: $interval) {
    at processes requestRate errorRate degraded
    classes { operationClass count p95 targetP95 status }
    queues { name depth target alert status }
    pool { inUse size status }
  }
}"""


def server_environment() -> dict[str, str]:
    """Development, so the WebSocket origin check lets the server's own /ops page in (it adds the
    server's own address to TASKQL_WS_ALLOWED_ORIGINS); nothing migrated or seeded at start."""
    return {
        "TASKQL_ENVIRONMENT": "development",
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": test_services.REDIS_URL,
        "TASKQL_REDIS_CHANNEL_PREFIX": test_services.CHANNEL_PREFIX,
        "TASKQL_MIGRATE_ON_START": "false",
        "TASKQL_SEED_DEMO_DATA": "false",
        "TASKQL_EMAIL_TRANSPORT": "log",
        "TASKQL_ANONYMOUS_COST_BUCKET_CAPACITY": "1000000",
        "TASKQL_ANONYMOUS_COST_RESTORE_RATE": "1000000",
    }


@dataclass
class People:
    operator_token: str
    member_token: str
    operator_id: int


async def operator_and_member(services: Services, gql: GraphQLClient, org: SeededOrganization) -> People:
    """The organization's owner made a platform operator, and one of its plain members."""
    async with services.db.unit_of_work() as conn:
        owner_id = (await conn.execute(select(User.id).where(User.email == org.owner_email))).scalar_one()
        await conn.execute(update(User).where(User.id == owner_id).values(is_operator=True))
        member_email = (
            await conn.execute(
                select(User.email)
                .where(User.organization_id == org.organization_id, User.role == OrgRole.MEMBER)
                .order_by(User.id)
                .limit(1)
            )
        ).scalar_one()
    return People(await gql.login(org.owner_email), await gql.login(member_email), owner_id)


def traffic(base_url: str, token: str) -> None:
    """A read (`viewer`) and a list (`projects`) against the server."""
    headers = {"authorization": f"Bearer {token}"}
    for query in ("{ viewer { user { id } } }", "{ projects(first: 2) { edges { node { id } } } }"):
        response = httpx.post(f"{base_url}/graphql", json={"query": query}, headers=headers, trust_env=False)
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text


class Client:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def receive(self, within: float = WAIT) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                message: dict[str, Any] = json.loads(await self.ws.recv())
                if message["type"] == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                elif message["type"] != "pong":
                    return message

    async def subscribe(self, op_id: str, interval: int) -> None:
        payload = {"query": OPS, "variables": {"interval": interval}}
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))


@asynccontextmanager
async def signed_in(base_url: str, token: str) -> AsyncIterator[Client]:
    url = base_url.replace("http", "ws", 1) + "/graphql"
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], proxy=None) as ws:
        client = Client(ws)
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack = await client.receive()
        assert ack["type"] == "connection_ack", ack
        yield client
