"""A signing key rotated under a running fleet of two real server processes: while one process has
restarted with the new key and the other still signs with the old, a token from either is accepted by
both, over HTTP and at a WebSocket's connection_init; once the old key is dropped, its tokens are not."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from perf.shared.server_process import ServerProcess, start_server
from persistence.seed import SeededOrganization
from tests import services as test_services
from tests.conftest import PASSWORD

MakeOrg = Callable[..., Awaitable[SeededOrganization]]
KEY_A = "fleet-key-a-" + "a" * 40
KEY_B = "fleet-key-b-" + "b" * 40
LOGIN = "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }"
VIEWER = "{ viewer { user { email } } }"
WAIT = 5.0


def keys(signing: str, verifying: str = "") -> dict[str, str]:
    """The environment of a process that signs with the key ``signing`` (``a`` or ``b``) and also
    verifies the keys ``verifying`` (comma-separated)."""
    secrets = {"a": KEY_A, "b": KEY_B}
    previous = ",".join(f"{kid}:{secrets[kid]}" for kid in verifying.split(",") if kid)
    return {
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": test_services.REDIS_URL,
        "TASKQL_REDIS_CHANNEL_PREFIX": test_services.CHANNEL_PREFIX,
        "TASKQL_ENVIRONMENT": "test",
        "TASKQL_MIGRATE_ON_START": "false",
        "TASKQL_SEED_DEMO_DATA": "false",
        "TASKQL_JWT_SIGNING_KEY_ID": signing,
        "TASKQL_JWT_SECRET": secrets[signing],
        "TASKQL_JWT_PREVIOUS_SECRETS": previous,
    }


class Fleet:
    """Named server processes; a restart stops one (SIGTERM, as a deploy does) and starts it anew."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, ServerProcess] = {}

    def start(self, name: str, environment: dict[str, str]) -> ServerProcess:
        self.running[name] = start_server(self.logs / f"{name}.log", environment)
        return self.running[name]

    def restart(self, name: str, environment: dict[str, str]) -> ServerProcess:
        self.running.pop(name).stop()
        return self.start(name, environment)

    def stop(self) -> None:
        for server in self.running.values():
            server.stop()


@contextmanager
def fleet(logs: Path) -> Iterator[Fleet]:
    running = Fleet(logs)
    try:
        yield running
    finally:
        running.stop()


async def login(server: ServerProcess, email: str) -> str:
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=WAIT) as http:
        body = (
            await http.post("/graphql", json={"query": LOGIN, "variables": {"e": email, "p": PASSWORD}})
        ).json()
    assert "errors" not in body, body
    token: str = body["data"]["authLogin"]["accessToken"]
    return token


async def viewer_over_http(server: ServerProcess, token: str) -> str | list[str]:
    """The viewer's email, or the errors' codes."""
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=WAIT) as http:
        response = await http.post(
            "/graphql", json={"query": VIEWER}, headers={"authorization": f"Bearer {token}"}
        )
    body: dict[str, Any] = response.json()
    if "errors" in body:
        return [error["extensions"]["code"] for error in body["errors"]]
    email: str = body["data"]["viewer"]["user"]["email"]
    return email


async def connection_init(server: ServerProcess, token: str) -> str | int | None:
    """``connection_ack``, or the close code the server answered connection_init with."""
    url = server.base_url.replace("http://", "ws://") + "/graphql"
    async with connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], proxy=None, open_timeout=WAIT
    ) as ws:
        payload = {"authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            answer: str = json.loads(await ws.recv())["type"]
            return answer
        except ConnectionClosed:
            return ws.close_code


async def test_a_key_rotated_under_a_running_fleet_signs_nobody_out(
    database: str, redis_url: str, make_org: MakeOrg, tmp_path: Path
) -> None:
    org = await make_org()
    with fleet(tmp_path) as servers:
        # Given two processes that sign with A and already know B (the rotation's first deploy)
        first = servers.start("first", keys("a", verifying="b"))
        servers.start("second", keys("a", verifying="b"))
        from_first = await login(first, org.owner_email)
        # When the second restarts signing with B and keeping A, while the first still signs with A
        second = servers.restart("second", keys("b", verifying="a"))
        from_second = await login(second, org.owner_email)
        assert jwt.get_unverified_header(from_first)["kid"] == "a"
        assert jwt.get_unverified_header(from_second)["kid"] == "b"
        # Then a token from either process is accepted by both, over HTTP and over WebSocket
        for server in (first, second):
            for token in (from_first, from_second):
                assert await viewer_over_http(server, token) == org.owner_email
                assert await connection_init(server, token) == "connection_ack"
        # When, A's tokens expired, the first restarts without A
        first = servers.restart("first", keys("b"))
        # Then a token signed with A is refused, and one signed with B is not
        assert await viewer_over_http(first, from_first) == ["UNAUTHENTICATED"]
        assert await connection_init(first, from_first) == 4401
        assert await viewer_over_http(first, from_second) == org.owner_email
        assert await connection_init(first, from_second) == "connection_ack"
