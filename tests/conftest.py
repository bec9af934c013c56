"""Shared fixtures: one migrated MariaDB database per run, Redis, the app, and organizations made per test."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette

from persistence.migrate import upgrade_to_head
from persistence.seed import SeededOrganization, SeedSizes, seed_organization
from persistence.settings import Settings
from resolvers.context import Services
from schema.app import build_services, create_app
from tests import services as test_services

# Fixtures other modules define: a private redis-server, a private mariadbd per test.
pytest_plugins = ["tests.redis_server", "tests.mariadb_server"]

PASSWORD = "correct horse battery staple"
SMALL = SeedSizes(users=8, projects=3, tasks=30, comments_per_task=1.0, members_per_project=4)
_org_numbers = itertools.count(1)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": test_services.DATABASE_URL,
        "redis_url": test_services.REDIS_URL,
        "seed_demo_data": False,
        "migrate_on_start": False,
        "expose_statement_count": True,
        # The suite's own relay publishes what its writes commit; sweeping is left to the tests
        # that are about it, so no test's leftovers are published under another test's eyes.
        "relay_sweep_interval_seconds": 3600,
        "redis_channel_prefix": test_services.CHANNEL_PREFIX,
        "report_root": test_services.REPORT_ROOT,
        # Every login of the suite comes from one address, whose anonymous budget would run dry; the
        # budget's own tests set theirs.
        "anonymous_cost_bucket_capacity": 1_000_000,
        "anonymous_cost_restore_rate": 1_000_000.0,
        # Some tests send a hundred requests at once to see each answered; load shedding's own tests
        # (tests/schema/test_admission.py) set its limits.
        "max_requests_in_flight": 1000,
        # Likewise for logins: eight at once wait their turn for the hashing threads, which on a
        # loaded machine can take longer than the production wait; the auth lane's tests set theirs.
        "auth_admission_wait_ms": 10_000,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def embedded_services(database: Path, channel_prefix: str) -> AsyncIterator[Services]:
    """The embedded default's services over a SQLite file, migrated. The in-process Redis stand-in is
    emptied first: it is one per process, and every test's database numbers its rows from 1, so a
    previous test's cached rows would answer for this one's."""
    services = build_services(
        make_settings(
            database_url=f"sqlite+aiosqlite:///{database}",
            redis_url="memory://",
            redis_channel_prefix=channel_prefix,
        )
    )
    await services.cache.redis.flushdb()
    await upgrade_to_head(services.db.engine)
    try:
        yield services
    finally:
        services.passwords.close()
        await services.cache.redis.aclose()
        await services.db.dispose()


@pytest.fixture(scope="session")
async def database() -> str:
    """A fresh database for the run, migrated once to head."""
    test_services.require_tcp("MariaDB", test_services.MARIADB_HOST, test_services.MARIADB_PORT)
    server = create_async_engine(test_services.MARIADB_SERVER_URL)
    async with server.begin() as conn:
        name = test_services.MARIADB_DATABASE
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    await server.dispose()
    engine = create_async_engine(test_services.DATABASE_URL)
    await upgrade_to_head(engine)
    await engine.dispose()
    return test_services.DATABASE_URL


@pytest.fixture(scope="session")
async def redis_url() -> str:
    test_services.require_tcp("Redis", test_services.REDIS_HOST, test_services.REDIS_PORT)
    return test_services.REDIS_URL


@asynccontextmanager
async def running_services(settings: Settings, *, flush_redis: bool = False) -> AsyncIterator[Services]:
    """Services as the app builds them, their relay running (the app's lifespan starts it; the
    in-process ASGI transport runs no lifespan), all closed at the end; ``flush_redis``: their Redis
    database emptied first."""
    built = build_services(settings)
    if flush_redis:
        await built.cache.redis.flushdb()
    await built.relay.start()
    try:
        yield built
    finally:
        await built.relay.stop()
        built.passwords.close()
        await built.cache.redis.aclose()
        await built.db.dispose()


@pytest.fixture(scope="session")
async def services(database: str, redis_url: str) -> AsyncIterator[Services]:
    async with running_services(make_settings(), flush_redis=True) as built:
        yield built
    # The run's report files (the app and the workers wrote them there).
    shutil.rmtree(test_services.REPORT_ROOT, ignore_errors=True)


@pytest.fixture(scope="session")
async def app(services: Services) -> Starlette:
    return create_app(services=services)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        yield http


@dataclass
class GraphQLClient:
    """Posts GraphQL to the app; `token` makes it send `Authorization: Bearer`."""

    http: httpx.AsyncClient
    token: str | None = None

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        sent = {"content-type": "application/json", **headers}
        if self.token is not None:
            sent.setdefault("authorization", f"Bearer {self.token}")
        return await self.http.post("/graphql", json={"query": query, "variables": variables}, headers=sent)

    async def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        body: dict[str, Any] = response.json()
        return body

    async def login(self, email: str, password: str = PASSWORD) -> str:
        mutation = (
            "mutation($e: String!, $p: String!) "
            "{ authLogin(input: {email: $e, password: $p}) { accessToken } }"
        )
        body = await self.run(mutation, {"e": email, "p": password})
        assert "errors" not in body, body
        token: str = body["data"]["authLogin"]["accessToken"]
        return token

    def as_user(self, token: str | None) -> GraphQLClient:
        return GraphQLClient(self.http, token)


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


@pytest.fixture
async def roomy_gql(services: Services) -> AsyncIterator[GraphQLClient]:
    """The app with room for operations that walk a whole organization at once (costing tens of
    thousands, where one operation may cost 1,000): for tests about something other than cost."""
    roomy = make_settings(cost_limit_per_operation=1_000_000, cost_bucket_capacity=1_000_000)
    app = create_app(services=replace(services, settings=roomy))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        yield GraphQLClient(http)


def org_maker(services: Services) -> Any:
    """A maker of fresh organizations in ``services``' database (MariaDB or the embedded SQLite)."""

    async def make(sizes: SeedSizes = SMALL) -> SeededOrganization:
        number = next(_org_numbers)
        slug = f"org{number}-{id(sizes) % 10_000}"
        return await seed_organization(
            services.db,
            services.passwords,
            sizes,
            slug=slug,
            owner_email=f"owner@{slug}.test",
            password=PASSWORD,
            rng_seed=number,
        )

    return make


@pytest.fixture
async def make_org(services: Services) -> Any:
    """Makes a fresh organization per call; tenancy keeps tests apart without truncating."""
    return org_maker(services)


@pytest.fixture(scope="module")
async def make_org_module(services: Services) -> Any:
    """The same, for a module that shares one (larger) organization across its tests."""
    return org_maker(services)
