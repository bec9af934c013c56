"""API keys: owners and admins make, list and revoke them; the key is shown once; a key authenticates
as its creator until it is revoked or expires, with its lookup cached in Redis (0 statements warm,
1 cold). A refused request changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from persistence.enums import ApiKeyScope, OrgRole
from persistence.models import ApiKey, User
from persistence.models.base import utcnow
from persistence.statements import count_statements
from resolvers import api_keys
from resolvers import auth as auth_resolvers
from resolvers.context import RequestContext, Services
from resolvers.errors import Forbidden, Unauthenticated
from resolvers.user_mutations import change_password
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient
from tests.notification_crew import Crew, MakeOrg, make_crew

FIELDS = "apiKey { id name prefix scope expiresAt revokedAt createdById } key"
CREATE = f"mutation($i: ApiKeyCreateInput!) {{ apiKeyCreate(input: $i) {{ {FIELDS} }} }}"
REVOKE = "mutation($i: ApiKeyRevokeInput!) { apiKeyRevoke(input: $i) { apiKey { id revokedAt } } }"
LIST = "{ apiKeys { id name prefix scope revokedAt } }"


def _code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def _keys(services: Services, organization_id: int) -> list[Any]:
    table = ApiKey.__table__
    async with services.db.read() as conn:
        statement = select(table).where(table.c.organization_id == organization_id).order_by(table.c.id)
        return list((await conn.execute(statement)).all())


async def _key_count(services: Services) -> int:
    async with services.db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(ApiKey)) or 0)


async def _create(client: GraphQLClient, scope: str = "READ_WRITE", **extra: Any) -> dict[str, Any]:
    body = await client.run(CREATE, {"i": {"name": "CI", "scope": scope, **extra}})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["apiKeyCreate"]
    return payload


async def _forget_cached(services: Services, key_text: str) -> None:
    prefix = key_text.split("_")[1]
    await services.cache.delete(api_keys.api_key_cache_key(prefix))


@pytest.fixture
async def crew(services: Services, gql: GraphQLClient, make_org: MakeOrg) -> Crew:
    return await make_crew(services, gql, make_org)


async def test_an_admin_makes_a_key_shown_once_that_acts_as_the_admin(services: Services, crew: Crew) -> None:
    # Given an organization admin
    admin = crew.clients["admin"]
    # When they make a read-only key
    payload = await _create(admin, "READ")
    # Then its text is shown once, and only the hash of its secret is stored
    key = payload["key"]
    [stored] = await _keys(services, crew.org.organization_id)
    assert key.startswith(f"tq_{stored.prefix}_")
    assert payload["apiKey"]["id"] == encode_id("ApiKey", stored.id)
    assert payload["apiKey"]["createdById"] == encode_id("User", crew.ids["admin"])
    assert (payload["apiKey"]["scope"], payload["apiKey"]["prefix"]) == ("READ", stored.prefix)
    assert key.split("_", 2)[2] not in stored.secret_hash
    assert len(stored.secret_hash) == 64
    # And the list never shows the key again (the type has no field for it)
    listed = (await crew.clients["owner"].run(LIST))["data"]["apiKeys"]
    assert listed == [
        {
            "id": payload["apiKey"]["id"],
            "name": "CI",
            "prefix": stored.prefix,
            "scope": "READ",
            "revokedAt": None,
        }
    ]
    type_fields = await admin.run('{ __type(name: "ApiKey") { fields { name } } }')
    names = {field["name"] for field in type_fields["data"]["__type"]["fields"]}
    assert not names & {"key", "secret", "secretHash"}
    # And the key authenticates as the admin, read-only, without operator powers
    principal = await api_keys.authenticate_api_key(services, key)
    assert (principal.user_id, principal.organization_id, principal.role) == (
        crew.ids["admin"],
        crew.org.organization_id,
        OrgRole.ADMIN,
    )
    assert principal.is_api_key
    assert not principal.can_write
    assert not principal.is_operator
    assert principal.session_id == f"apikey:{stored.id}"


async def test_members_cannot_make_or_list_keys_and_nothing_is_made(services: Services, crew: Crew) -> None:
    # Given a plain member
    before = await _key_count(services)
    # When they try to make a key or list them
    made = await crew.clients["author"].run(CREATE, {"i": {"name": "mine", "scope": "READ_WRITE"}})
    listed = await crew.clients["author"].run(LIST)
    # Then both are FORBIDDEN and no key exists
    assert _code(made) == "FORBIDDEN"
    assert _code(listed) == "FORBIDDEN"
    assert await _key_count(services) == before


@pytest.mark.parametrize(
    ("extra", "argument"),
    [({"expiresAt": "2000-01-01T00:00:00+00:00"}, "input.expiresAt"), ({"name": "  "}, "input.name")],
)
async def test_a_past_expiry_or_an_empty_name_is_refused(
    services: Services, crew: Crew, extra: dict[str, str], argument: str
) -> None:
    before = await _key_count(services)
    body = await crew.clients["admin"].run(CREATE, {"i": {"name": "CI", "scope": "READ", **extra}})
    assert _code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["argument"] == argument
    assert await _key_count(services) == before


async def test_a_key_cannot_make_keys_nor_log_out_nor_change_a_password(
    services: Services, crew: Crew
) -> None:
    # Given a read-write key of the owner
    key = (await _create(crew.clients["owner"]))["key"]
    ctx = RequestContext(services=services, principal=await api_keys.authenticate_api_key(services, key))
    before = await _key_count(services)
    # When it tries to make a key, to log out, to change the password
    # Then each is refused and nothing changed
    with pytest.raises(Forbidden):
        await api_keys.create_api_key(ctx, name="child", scope=ApiKeyScope.READ, expires_at=None)
    with pytest.raises(Forbidden):
        await auth_resolvers.logout(ctx)
    with pytest.raises(Forbidden):
        await change_password(ctx, "whatever", "a brand new password")
    assert await _key_count(services) == before
    assert (await api_keys.authenticate_api_key(services, key)).can_write


async def test_revoking_refuses_the_key_at_once_and_again_changes_nothing(
    services: Services, crew: Crew
) -> None:
    # Given a key whose lookup is cached (it was just used)
    created = await _create(crew.clients["admin"])
    key = created["key"]
    await api_keys.authenticate_api_key(services, key)
    # When an owner revokes it
    revoked = await crew.clients["owner"].run(REVOKE, {"i": {"id": created["apiKey"]["id"]}})
    first = revoked["data"]["apiKeyRevoke"]["apiKey"]["revokedAt"]
    assert first is not None
    # Then the very next request with it is refused (the cached entry was replaced)
    with pytest.raises(Unauthenticated, match="API key revoked"):
        await api_keys.authenticate_api_key(services, key)
    # And so it is with the cache empty (the row says so)
    await _forget_cached(services, key)
    with pytest.raises(Unauthenticated, match="API key revoked"):
        await api_keys.authenticate_api_key(services, key)
    # And revoking it again returns it as it was
    again = await crew.clients["admin"].run(REVOKE, {"i": {"id": created["apiKey"]["id"]}})
    assert again["data"]["apiKeyRevoke"]["apiKey"]["revokedAt"] == first


async def test_another_organization_cannot_revoke_a_key(services: Services, crew: Crew) -> None:
    # Given a key of one organization
    created = await _create(crew.clients["admin"])
    [before] = await _keys(services, crew.org.organization_id)
    # When another organization's owner revokes it
    body = await crew.clients["foreigner"].run(REVOKE, {"i": {"id": created["apiKey"]["id"]}})
    # Then it reads as missing, and the key is untouched and still works
    assert _code(body) == "NOT_FOUND"
    assert await _keys(services, crew.org.organization_id) == [before]
    assert (await api_keys.authenticate_api_key(services, created["key"])).user_id == crew.ids["admin"]


async def test_an_expired_key_is_refused(services: Services, crew: Crew) -> None:
    # Given a key that expires soon, used while it was valid
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    created = await _create(crew.clients["admin"], expiresAt=soon)
    key = created["key"]
    principal = await api_keys.authenticate_api_key(services, key)
    assert principal.expires_at.isoformat() == soon
    # When its expiry has passed (moved into the past: the test does not wait an hour)
    table = ApiKey.__table__
    async with services.db.unit_of_work() as conn:
        statement = update(ApiKey).where(table.c.prefix == key.split("_")[1])
        await conn.execute(statement.values(expires_at=utcnow() - timedelta(seconds=1)))
    await _forget_cached(services, key)
    # Then it is refused as expired
    with pytest.raises(Unauthenticated, match="API key expired"):
        await api_keys.authenticate_api_key(services, key)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda key: key[:-2] + ("AA" if not key.endswith("AA") else "BB"),  # wrong secret
        lambda key: "tq_0123456789_" + key.split("_", 2)[2],  # unknown prefix
        lambda key: key.replace("tq_", "xx_", 1),  # not a key at all
        lambda key: "",
    ],
)
async def test_a_wrong_or_unknown_key_is_invalid(services: Services, crew: Crew, mangle: Any) -> None:
    key = (await _create(crew.clients["admin"]))["key"]
    with pytest.raises(Unauthenticated, match="invalid API key"):
        await api_keys.authenticate_api_key(services, mangle(key))


async def test_a_key_of_a_deactivated_user_is_refused(services: Services, crew: Crew) -> None:
    # Given a key made by an admin who is then deactivated
    key = (await _create(crew.clients["admin"]))["key"]
    users = User.__table__
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            update(User).where(users.c.id == crew.ids["admin"]).values(deactivated_at=utcnow())
        )
    await _forget_cached(services, key)
    # When the key is used, then it is refused
    with pytest.raises(Unauthenticated, match="deactivated"):
        await api_keys.authenticate_api_key(services, key)


async def test_deactivating_or_demoting_the_keys_user_reaches_a_warm_key_at_once(
    services: Services, crew: Crew
) -> None:
    # Given an admin's key and the owner's, each just used (their lookups cached)
    demoted_key = (await _create(crew.clients["admin"]))["key"]
    other_key = (await _create(crew.clients["owner"], name="owner's"))["key"]
    assert (await api_keys.authenticate_api_key(services, demoted_key)).role is OrgRole.ADMIN
    await api_keys.authenticate_api_key(services, other_key)
    owner = crew.clients["owner"]
    # When the owner demotes one admin
    demote = "mutation($i: UserRoleChangeInput!) { userRoleChange(input: $i) { errors { code } } }"
    body = await owner.run(demote, {"i": {"id": encode_id("User", crew.ids["admin"]), "role": "MEMBER"}})
    assert body["data"]["userRoleChange"]["errors"] == [], body
    # Then the demoted admin's key acts as a member from the next request on
    assert (await api_keys.authenticate_api_key(services, demoted_key)).role is OrgRole.MEMBER
    # When the owner deactivates that user
    deactivate = "mutation($i: UserDeactivateInput!) { userDeactivate(input: $i) { errors { code } } }"
    body = await owner.run(deactivate, {"i": {"id": encode_id("User", crew.ids["admin"])}})
    assert body["data"]["userDeactivate"]["errors"] == [], body
    # Then their key is refused at once
    with pytest.raises(Unauthenticated, match="deactivated"):
        await api_keys.authenticate_api_key(services, demoted_key)
    # And another user's warm key is untouched
    assert (await api_keys.authenticate_api_key(services, other_key)).user_id == crew.ids["owner"]


async def test_a_cold_lookup_costs_one_statement_and_a_warm_one_none(services: Services, crew: Crew) -> None:
    key = (await _create(crew.clients["admin"]))["key"]
    await _forget_cached(services, key)
    with count_statements() as cold:
        await api_keys.authenticate_api_key(services, key)
    with count_statements() as warm:
        await api_keys.authenticate_api_key(services, key)
    assert (cold.count, warm.count) == (1, 0)
    # A malformed key is refused before any lookup
    with count_statements() as malformed, pytest.raises(Unauthenticated):
        await api_keys.authenticate_api_key(services, "tq_short_secret")
    assert malformed.count == 0
