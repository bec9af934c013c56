"""`/healthz` and `/readyz`: unready without current migrations, degraded (still ready) without Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from perf.shared.local_processes import free_port
from schema.app import build_services, create_app
from tests import services as test_services
from tests.conftest import make_settings

EMPTY_DATABASE = f"{test_services.MARIADB_DATABASE}_unmigrated"


async def readyz(**settings: str) -> httpx.Response:
    services = build_services(make_settings(**settings))
    transport = httpx.ASGITransport(app=create_app(services=services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
            return await http.get("/readyz")
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()


@pytest.fixture
async def unmigrated(database: str) -> AsyncIterator[str]:
    server = create_async_engine(test_services.MARIADB_SERVER_URL)
    async with server.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{EMPTY_DATABASE}`"))
        await conn.execute(text(f"CREATE DATABASE `{EMPTY_DATABASE}`"))
    yield f"{test_services.MARIADB_SERVER_URL}/{EMPTY_DATABASE}"
    async with server.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{EMPTY_DATABASE}`"))
    await server.dispose()


async def test_ready_when_the_database_is_current_and_redis_answers(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "redis": "ok"}


async def test_unready_while_migrations_are_pending(unmigrated: str, redis_url: str) -> None:
    response = await readyz(database_url=unmigrated)
    assert response.status_code == 503
    assert response.json()["database"] == "migrations pending"


async def test_redis_down_is_degraded_not_unready(database: str) -> None:
    response = await readyz(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "redis": "degraded"}


async def test_metrics_can_be_turned_off(database: str, redis_url: str) -> None:
    services = build_services(make_settings(metrics_enabled=False))
    transport = httpx.ASGITransport(app=create_app(services=services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
            assert (await http.get("/metrics")).status_code == 404
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()
