"""The principal and the budget's charge in one Redis round trip (schema/http/first_trip.py): a bearer
query pays with the read of its session, a revoked session is refused at once and pays nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from redis.asyncio.connection import AbstractConnection

from persistence.ratelimit import REFUND_DELAY_SECONDS
from resolvers.context import Services
from resolvers.trusted_documents import ManifestOperation, register_documents, sha256_of
from schema.app import create_app
from schema.build import build_schema
from schema.guard.registration import preparer
from tests.conftest import GraphQLClient, make_settings
from tests.notification_crew import Crew, MakeOrg, make_crew

VIEWER = "query Viewer { viewer { user { id name } } }"
LOGOUT = "mutation { authLogout { ok } }"


@asynccontextmanager
async def server(services: Services, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=replace(services, settings=make_settings(**overrides)))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        yield http


@pytest.fixture
async def crew(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> Crew:
    return await make_crew(services, gql, make_org)


def bearer(crew: Crew, who: str) -> dict[str, str]:
    return {"authorization": f"Bearer {crew.clients[who].token}"}


@contextmanager
def redis_commands(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The commands sent to Redis inside the block, one entry per round trip."""
    sent: list[Any] = []
    original = AbstractConnection.send_packed_command

    async def counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        await original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    try:
        yield sent
    finally:
        monkeypatch.undo()


async def _points(services: Services, crew: Crew, who: str) -> float | None:
    """The bucket's points in Redis; None for a full bucket (no key)."""
    raw = await services.cache.redis.hget(f"ratelimit:user:{crew.ids[who]}", "points")
    return None if raw is None else float(raw)


async def test_a_bearer_query_reads_its_session_and_pays_in_one_round_trip(
    services: Services, crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with server(services) as http:
        # Given a session already cached
        assert (
            await http.post("/graphql", json={"query": VIEWER}, headers=bearer(crew, "author"))
        ).status_code == 200
        await asyncio.sleep(REFUND_DELAY_SECONDS * 2)
        # When the viewer query runs again
        with redis_commands(monkeypatch) as sent:
            response = await http.post("/graphql", json={"query": VIEWER}, headers=bearer(crew, "author"))
    # Then it is answered, charged, after one round trip to Redis
    assert response.status_code == 200, response.text
    assert response.json()["extensions"]["cost"]["requested"] > 0
    assert len(sent) == 1, sent


async def test_a_revoked_session_is_refused_at_once_and_pays_nothing(services: Services, crew: Crew) -> None:
    async with server(services, cost_bucket_capacity=1000, cost_restore_rate=0.001) as http:
        # Given a session that has paid for a query, then logged out
        auth = bearer(crew, "colleague")
        assert (await http.post("/graphql", json={"query": VIEWER}, headers=auth)).status_code == 200
        assert (await http.post("/graphql", json={"query": LOGOUT}, headers=auth)).status_code == 200
        await asyncio.sleep(REFUND_DELAY_SECONDS * 4)
        before = await _points(services, crew, "colleague")
        # When its token is used again
        refused = await http.post("/graphql", json={"query": VIEWER}, headers=auth)
        await asyncio.sleep(REFUND_DELAY_SECONDS * 4)
    # Then it is refused, and the charge made with the session's read came back
    assert refused.status_code == 401, refused.text
    after = await _points(services, crew, "colleague")
    assert before is not None
    assert after is not None
    assert after == pytest.approx(before, abs=0.01)


async def test_a_trusted_document_by_id_or_hash_pays_in_one_round_trip(
    services: Services, crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a registered document, and trusted documents enforced (the production default)
    body = f"# {uuid.uuid4()}\n{VIEWER}"
    document_id = f"first-trip-{uuid.uuid4()}"
    prepare = preparer(build_schema()._schema, services.settings)
    await register_documents(
        services.db, [ManifestOperation(document_id, body)], client_name="t", prepare=prepare
    )
    by_id = {"documentId": document_id}
    by_hash = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(body)}}}
    async with server(services, trusted_documents_mode="enforce") as http:
        for request in (by_id, by_hash):
            # which this process has read once already, with the session cached
            assert (
                await http.post("/graphql", json=request, headers=bearer(crew, "author"))
            ).status_code == 200
            await asyncio.sleep(REFUND_DELAY_SECONDS * 2)
            # When it is sent again
            with redis_commands(monkeypatch) as sent:
                response = await http.post("/graphql", json=request, headers=bearer(crew, "author"))
            # Then it is answered and charged after one round trip to Redis
            assert response.status_code == 200, response.text
            assert response.json()["extensions"]["cost"]["requested"] > 0
            assert len(sent) == 1, (request, sent)
