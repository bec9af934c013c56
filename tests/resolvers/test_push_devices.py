"""pushDeviceRegister / pushDeviceUnregister: idempotent registration, a token that changes hands,
only one's own device unregistered, input checked before anything is written, the write budget."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import func, select

from persistence.models import Event, PushDevice
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient
from tests.notification_crew import Crew, MakeOrg, make_crew

REGISTER = """
mutation($i: PushDeviceRegisterInput!) {
  pushDeviceRegister(input: $i) { device { id platform createdAt lastSeenAt } errors { field code message } }
}"""
UNREGISTER = """
mutation($i: PushDeviceUnregisterInput!) {
  pushDeviceUnregister(input: $i) { deviceId errors { field code message } }
}"""
_tokens = itertools.count(1)


def _token(prefix: str = "apns") -> str:
    return f"{prefix}-{next(_tokens):04d}-0123456789abcdef"


async def _register(client: GraphQLClient, token: str, platform: str = "IOS") -> dict[str, Any]:
    body = await client.run(REGISTER, {"i": {"token": token, "platform": platform}})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["pushDeviceRegister"]
    return payload


async def _unregister(client: GraphQLClient, token: str) -> dict[str, Any]:
    body = await client.run(UNREGISTER, {"i": {"token": token}})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["pushDeviceUnregister"]
    return payload


async def _listed(client: GraphQLClient) -> list[dict[str, Any]]:
    body = await client.run("{ viewer { pushDevices { id platform } } }")
    assert "errors" not in body, body
    listed: list[dict[str, Any]] = body["data"]["viewer"]["pushDevices"]
    return listed


async def _devices(services: Services, crew: Crew) -> list[tuple[int, str, int, str]]:
    """Every device of the crew's users: (id, token, user id, platform)."""
    table = PushDevice.__table__
    statement = select(table).where(table.c.user_id.in_(crew.ids.values())).order_by(table.c.id)
    async with services.db.read() as conn:
        rows = (await conn.execute(statement)).all()
    return [(row.id, row.token, row.user_id, str(row.platform)) for row in rows]


async def _event_count(services: Services, crew: Crew) -> int:
    mine = Event.actor_id.in_(crew.ids.values()), Event.type.like("push_device.%")
    async with services.db.read() as conn:
        count = await conn.scalar(select(func.count()).where(*mine))
    return int(count or 0)


async def test_registering_again_refreshes_and_another_user_takes_the_token_over(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    crew = await make_crew(services, gql, make_org)
    author, colleague = crew.clients["author"], crew.clients["colleague"]
    token = _token()
    # When the author registers a token, then the same token again
    first = await _register(author, token)
    again = await _register(author, token, "IOS")
    # Then one device: the same id, created once, seen again later
    assert first["errors"] == again["errors"] == []
    assert first["device"]["id"] == again["device"]["id"]
    assert again["device"]["createdAt"] == first["device"]["createdAt"]
    assert again["device"]["lastSeenAt"] >= first["device"]["lastSeenAt"]
    [(device_id, _, owner, platform)] = await _devices(services, crew)
    assert first["device"]["id"] == encode_id("PushDevice", device_id)
    assert (owner, platform) == (crew.ids["author"], "ios")
    # When the colleague registers the same token (the phone changed hands), as an Android device
    moved = await _register(colleague, token, "ANDROID")
    # Then the row moved to the colleague: still one device, theirs now, and only in their list
    assert moved["errors"] == []
    assert await _devices(services, crew) == [(device_id, token, crew.ids["colleague"], "android")]
    assert await _listed(author) == []
    assert await _listed(colleague) == [{"id": first["device"]["id"], "platform": "ANDROID"}]
    # And a foreigner (another organization) takes it over the same way, into their organization
    await _register(crew.clients["foreigner"], token, "WEB")
    async with services.db.read() as conn:
        row = (await conn.execute(select(PushDevice.__table__).where(PushDevice.token == token))).one()
    assert (row.user_id, row.organization_id) == (crew.ids["foreigner"], crew.other.organization_id)


async def test_only_ones_own_device_is_unregistered_and_a_refusal_changes_nothing(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    crew = await make_crew(services, gql, make_org)
    author, colleague = crew.clients["author"], crew.clients["colleague"]
    theirs, mine = _token(), _token()
    await _register(author, theirs)
    await _register(colleague, mine, "WEB")
    before, events = await _devices(services, crew), await _event_count(services, crew)
    not_found = [{"field": "token", "code": "NOT_FOUND", "message": "you have no device with this token"}]
    # When the colleague unregisters the author's token, and one nobody registered
    for token in (theirs, _token("unknown")):
        # Then it is NOT_FOUND, and no device and no event changed
        assert await _unregister(colleague, token) == {"deviceId": None, "errors": not_found}
    assert await _devices(services, crew) == before
    assert await _event_count(services, crew) == events
    # When the colleague unregisters their own
    [mine_id] = [device_id for device_id, token, _, _ in before if token == mine]
    assert await _unregister(colleague, mine) == {"deviceId": encode_id("PushDevice", mine_id), "errors": []}
    # Then only that one is gone, and a second attempt is NOT_FOUND
    assert [device[1] for device in await _devices(services, crew)] == [theirs]
    assert (await _unregister(colleague, mine))["errors"] == not_found
    # And nobody signed in may do either
    anonymous = gql.as_user(None)
    refused = await anonymous.run(UNREGISTER, {"i": {"token": theirs}})
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert [device[1] for device in await _devices(services, crew)] == [theirs]


async def test_a_malformed_token_or_platform_is_refused_before_anything_is_written(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    crew = await make_crew(services, gql, make_org)
    author = crew.clients["author"]
    invalid = "token", "INVALID"
    # When the author registers tokens too short, too long, or with characters no platform uses
    for token in ("short", "x" * 256, "spaces are not allowed in a token", "tøken-0123456789abcdef"):
        payload = await _register(author, token)
        # Then each is INVALID in the payload
        assert payload["device"] is None
        assert [(error["field"], error["code"]) for error in payload["errors"]] == [invalid]
    # And an unknown platform is refused by the schema
    body = await author.run(REGISTER, {"i": {"token": _token(), "platform": "BLACKBERRY"}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    # And nothing was written
    assert await _devices(services, crew) == []
    assert await _event_count(services, crew) == 0


async def test_registering_and_unregistering_stay_within_the_write_budget(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    crew = await make_crew(services, gql, make_org)
    author, token = crew.clients["author"], _token()
    counts = []
    for query, variables in (
        (REGISTER, {"i": {"token": token, "platform": "IOS"}}),
        (REGISTER, {"i": {"token": token, "platform": "IOS"}}),
        (UNREGISTER, {"i": {"token": token}}),
    ):
        # When the author writes with every cache cold
        await services.cache.redis.flushdb()
        body = (await author.post(query, variables)).json()
        assert "errors" not in body, body
        counts.append(body["extensions"]["sqlStatements"])
    # Then registering costs the session, the upsert, its read-back and the event; unregistering
    # the session, the delete and the event
    assert counts == [4, 4, 3], counts
