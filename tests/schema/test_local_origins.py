"""A front end's dev server (http://localhost:5173, Vite's) against `make run`'s development server: its
CORS preflight and its WebSocket are let in by one setting (``local_origins``, on in development),
other origins are not, and production keeps its explicit list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from perf.shared.server_process import ServerProcess, start_server
from persistence.settings import Settings
from tests.schema.ops_helpers import server_environment

DEV_SERVER = "http://localhost:5173"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type",
}


@pytest.fixture(scope="module")
def dev_server(
    database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    log = Path(tmp_path_factory.mktemp("local-origins")) / "server.log"
    running = start_server(log, server_environment())
    yield running
    running.stop()


def _preflight(server: ServerProcess, origin: str) -> httpx.Response:
    return httpx.options(
        f"{server.base_url}/graphql", headers={"origin": origin, **PREFLIGHT}, trust_env=False
    )


async def _handshake_status(server: ServerProcess, origin: str) -> int:
    """101 when the WebSocket opened, else the status the handshake was refused with."""
    url = server.base_url.replace("http://", "ws://") + "/graphql"
    try:
        async with connect(
            url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            origin=Origin(origin),
            proxy=None,
            open_timeout=10,
            close_timeout=1,
        ):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


@pytest.mark.parametrize("origin", [DEV_SERVER, "http://127.0.0.1:3000", "http://localhost"])
async def test_a_local_dev_server_is_let_in_over_http_and_websocket(
    dev_server: ServerProcess, origin: str
) -> None:
    preflight = _preflight(dev_server, origin)
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert await _handshake_status(dev_server, origin) == 101


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://localhost.evil.example:5173",
        "https://localhost:5173",  # a local origin is plain HTTP: TLS means a deployed page
        "http://192.168.1.20:5173",
    ],
)
async def test_another_origin_is_refused(dev_server: ServerProcess, origin: str) -> None:
    preflight = _preflight(dev_server, origin)
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert await _handshake_status(dev_server, origin) == 403


def test_the_setting_follows_the_environment() -> None:
    assert Settings(environment="development").local_origin_pattern is not None
    assert Settings(environment="development", local_origins=False).local_origin_pattern is None
    assert Settings(environment="test").local_origin_pattern is None
    assert Settings(environment="production", jwt_secret="p" * 40).local_origin_pattern is None


def test_production_refuses_local_origins() -> None:
    with pytest.raises(ValidationError, match="TASKQL_LOCAL_ORIGINS"):
        Settings(environment="production", jwt_secret="p" * 40, local_origins=True)
