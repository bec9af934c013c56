"""Logins and token refreshes are not queued behind other work: the auth admission lane
(schema/guard/lanes.py), with as many slots as password hashing threads.

The app runs in process over the suite's MariaDB and Redis; requests are held on MariaDB row locks the
test takes. The hashing pool's own test: tests/persistence/test_password_pool.py."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from persistence.models import Task, User
from persistence.passwords import Passwords
from persistence.seed import SeededOrganization
from persistence.settings import Settings
from resolvers.context import Services
from resolvers.trusted_documents import ManifestOperation, TrustedDocuments, register_documents
from schema.app import create_app
from schema.build import build_schema
from schema.core.ids import encode_id
from schema.core.request import GraphQLParams
from schema.guard.documents import DocumentCache
from schema.guard.protection import query_limits
from schema.guard.registration import preparer
from schema.http.view import GraphQLView
from tests.conftest import PASSWORD, GraphQLClient, make_settings

LOGIN = """
mutation Login($e: String!, $p: String!) {
  authLogin(input: {email: $e, password: $p}) { accessToken refreshToken }
}"""
REFRESH = "mutation($t: String!) { authRefresh(input: {refreshToken: $t}) { accessToken } }"
RENAME = """
mutation Rename($input: TaskUpdateInput!) { taskUpdate(input: $input) { task { title } errors { code } } }"""
VIEWER = "query Viewer { viewer { user { id } } }"
# What "promptly" means on a 2-core machine shared with other work: a login takes ~30-100 ms here.
PROMPT_SECONDS = 2.0


@asynccontextmanager
async def app_client(services: Services, settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The app in process with ``settings`` (and a hashing pool of their size) over the suite's services."""
    passwords = Passwords(settings)
    app = create_app(services=replace(services, settings=settings, passwords=passwords))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test", timeout=30) as http:
            yield GraphQLClient(http)
    finally:
        passwords.close()


@pytest.fixture
async def one_slot_each(services: Services) -> AsyncIterator[GraphQLClient]:
    """The app with one general slot and one auth slot (one hashing thread), and no waiting line."""
    settings = make_settings(
        max_requests_in_flight=1,
        max_requests_waiting=0,
        password_hash_threads=1,
        max_auth_requests_waiting=0,
    )
    async with app_client(services, settings) as client:
        yield client


async def statements_waiting(services: Services, like: str) -> int:
    """How many statements starting with ``like`` MariaDB is running (here: waiting on a lock)."""
    async with services.db.read() as conn:
        count = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE :like"
        return int((await conn.execute(text(count), {"like": like + "%"})).scalar_one())


async def until_waiting(services: Services, like: str, request: asyncio.Task[httpx.Response]) -> None:
    deadline = time.monotonic() + 10
    while await statements_waiting(services, like) == 0:
        assert not request.done(), request.result().text
        assert time.monotonic() < deadline, "the request never reached the lock"
        await asyncio.sleep(0.02)


async def timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


def code_of(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


async def test_a_login_and_a_refresh_go_through_while_every_general_slot_is_held(
    services: Services, make_org: Callable[[], Awaitable[SeededOrganization]], one_slot_each: GraphQLClient
) -> None:
    org = await make_org()
    signed_in = (await one_slot_each.run(LOGIN, {"e": org.owner_email, "p": PASSWORD}))["data"]["authLogin"]
    owner = one_slot_each.as_user(signed_in["accessToken"])
    task_id = org.task_ids[0]
    async with services.db.read() as conn:
        version = (await conn.execute(select(Task.version).where(Task.id == task_id))).scalar_one()
    rename = {"input": {"id": encode_id("Task", task_id), "version": version, "title": "held"}}
    # Given the one general slot held by a rename waiting on a row lock the test holds
    async with services.db.engine.connect() as locker:
        transaction = await locker.begin()
        await locker.execute(select(Task.id).where(Task.id == task_id).with_for_update())
        held = asyncio.create_task(owner.post(RENAME, rename))
        try:
            await until_waiting(services, "UPDATE tasks SET title", held)
            # When a read arrives, it is shed at once: no slot, no waiting line
            read = await owner.post(VIEWER)
            assert read.status_code == 503, read.text
            assert code_of(read) == "OVERLOADED"
            # Then a login still goes through, promptly
            credentials = {"e": org.owner_email, "p": PASSWORD}
            login, login_seconds = await timed(one_slot_each.post(LOGIN, credentials))
            assert login.status_code == 200, login.text
            assert login.json()["data"]["authLogin"]["accessToken"]
            assert login_seconds < PROMPT_SECONDS
            # And so does a token refresh
            refresh, refresh_seconds = await timed(
                one_slot_each.post(REFRESH, {"t": signed_in["refreshToken"]})
            )
            assert refresh.status_code == 200, refresh.text
            assert refresh.json()["data"]["authRefresh"]["accessToken"]
            assert refresh_seconds < PROMPT_SECONDS
            assert not held.done()
        finally:
            await transaction.rollback()
    assert (await held).status_code == 200


async def test_a_login_flood_is_shed_from_its_own_lane_and_reads_still_run(
    services: Services, make_org: Callable[[], Awaitable[SeededOrganization]], one_slot_each: GraphQLClient
) -> None:
    org = await make_org()
    token = (await one_slot_each.run(LOGIN, {"e": org.owner_email, "p": PASSWORD}))["data"]["authLogin"]
    owner = one_slot_each.as_user(token["accessToken"])
    credentials = {"e": org.owner_email, "p": PASSWORD}
    # Given the one auth slot held by a login whose new session waits on the user's row, locked
    async with services.db.engine.connect() as locker:
        transaction = await locker.begin()
        await locker.execute(select(User.id).where(User.email == org.owner_email).with_for_update())
        held = asyncio.create_task(one_slot_each.post(LOGIN, credentials))
        try:
            await until_waiting(services, "INSERT INTO sessions", held)
            # When more logins arrive at once, they are all shed: 503 OVERLOADED with Retry-After
            flood = await asyncio.gather(*(one_slot_each.post(LOGIN, credentials) for _ in range(5)))
            assert [response.status_code for response in flood] == [503] * 5, flood[0].text
            assert {code_of(response) for response in flood} == {"OVERLOADED"}
            assert all(response.headers["retry-after"] == "1" for response in flood)
            # Then a read is served all the same: the flood never touched the general lane
            read = await owner.post(VIEWER)
            assert read.status_code == 200, read.text
            assert read.json()["data"]["viewer"]["user"]["id"]
            assert not held.done()
        finally:
            await transaction.rollback()
    assert (await held).status_code == 200


async def test_only_a_pure_auth_mutation_takes_the_auth_lane(services: Services) -> None:
    # Given the view's lanes, with a login registered as a trusted document
    schema = build_schema()._schema
    registry = TrustedDocuments(services.db)
    documents = DocumentCache(schema, max_entries=64, max_tokens=1000, limits=query_limits(services.settings))
    lanes = GraphQLView.for_schema(services, documents, registry).lanes
    login_id = f"login-{uuid.uuid4()}"
    login_body = f"# {login_id}\n{LOGIN}"
    await register_documents(
        services.db,
        [ManifestOperation(login_id, login_body)],
        client_name="web",
        prepare=preparer(schema, services.settings),
    )
    await registry.refresh()

    def lane(params: GraphQLParams, method: str = "POST") -> str:
        chosen = lanes.for_request(method, params)
        return "auth" if chosen is lanes.auth else "general"

    def posted(query: str | None, **named: Any) -> GraphQLParams:
        return GraphQLParams(query, {}, None, **named)

    # Then logins, refreshes and logouts take the auth lane, as text or by trusted document id
    assert lane(posted(LOGIN)) == "auth"
    assert lane(posted(REFRESH)) == "auth"
    assert lane(posted("mutation { authLogout { ok } }")) == "auth"
    assert lane(posted(None, document_id=login_id)) == "auth"
    # And a mutation that does anything besides auth, a query, or a GET take the general one
    assert lane(posted(RENAME.replace("taskUpdate(", "authLogout { ok } taskUpdate("))) == "general"
    assert lane(posted(VIEWER + " # authLogin")) == "general"
    assert lane(posted(LOGIN), method="GET") == "general"
    # And so do a document that does not parse and an id this process has not loaded
    assert lane(posted("mutation { authLogin(")) == "general"
    assert lane(posted(None, document_id="never-registered")) == "general"


async def test_a_login_waits_for_its_slot_longer_than_other_requests_wait(
    services: Services, make_org: Callable[[], Awaitable[SeededOrganization]]
) -> None:
    # Given one auth slot with room for one login to wait, and a general wait far shorter than the auth one
    settings = make_settings(
        password_hash_threads=1,
        max_auth_requests_waiting=1,
        admission_wait_ms=50,
        auth_admission_wait_ms=5000,
    )
    org = await make_org()
    credentials = {"e": org.owner_email, "p": PASSWORD}
    async with app_client(services, settings) as client:
        # and the slot held by a login whose new session waits on the user's row, locked
        async with services.db.engine.connect() as locker:
            transaction = await locker.begin()
            await locker.execute(select(User.id).where(User.email == org.owner_email).with_for_update())
            held = asyncio.create_task(client.post(LOGIN, credentials))
            await until_waiting(services, "INSERT INTO sessions", held)
            # When a second login arrives and the lock is released well past the general wait
            queued = asyncio.create_task(timed(client.post(LOGIN, credentials)))
            await asyncio.sleep(0.5)
            assert not queued.done(), (await queued)[0].text
            await transaction.rollback()
        # Then both sign in: the second waited for the slot instead of being shed
        assert (await held).status_code == 200
        login, seconds = await queued
        assert login.status_code == 200, login.text
        assert login.json()["data"]["authLogin"]["accessToken"]
        assert seconds >= 0.5
