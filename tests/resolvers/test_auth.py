"""Login, bearer tokens, refresh rotation, logout and the session cache, against MariaDB and Redis."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import func, select, update

from perf.shared.private_redis import PrivateRedis
from persistence.models import AuthSession, User
from persistence.models.base import utcnow
from persistence.passwords import Passwords
from persistence.seed import SeededOrganization
from persistence.settings import Settings
from resolvers.auth import session_cache_key
from resolvers.context import Services
from resolvers.tokens import issue_access_token, new_session_id
from schema.app import build_services, create_app
from schema.core.ids import encode_id
from tests.conftest import PASSWORD, GraphQLClient, make_settings

MakeOrg = Callable[..., Awaitable[SeededOrganization]]

LOGIN = """
mutation($email: String!, $password: String!) {
  authLogin(input: {email: $email, password: $password}) {
    accessToken accessTokenExpiresAt refreshToken
    viewer { id email role }
    organization { id }
  }
}"""
REFRESH = """
mutation($token: String!) {
  authRefresh(input: {refreshToken: $token}) { accessToken refreshToken viewer { id } }
}"""
LOGOUT = "mutation { authLogout { ok } }"
VIEWER = "{ viewer { user { id email } organization { id } } }"
OTHER_SECRET = "another-secret-that-is-long-enough-0123456789"


@dataclass(frozen=True)
class Login:
    access_token: str
    refresh_token: str
    user_id: int
    session_id: str


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    errors: list[dict[str, Any]] = body["errors"]
    assert len(errors) == 1, errors
    return errors[0]


def assert_rejected(response: httpx.Response) -> None:
    """HTTP 401, one UNAUTHENTICATED error, and nothing executed."""
    assert response.status_code == 401, response.text
    body = response.json()
    assert "data" not in body
    assert only_error(body)["extensions"]["code"] == "UNAUTHENTICATED"


async def login(gql: GraphQLClient, email: str, password: str = PASSWORD) -> Login:
    body = await gql.run(LOGIN, {"email": email, "password": password})
    assert "errors" not in body, body
    payload = body["data"]["authLogin"]
    claims = jwt.decode(payload["accessToken"], options={"verify_signature": False})
    return Login(payload["accessToken"], payload["refreshToken"], int(claims["sub"]), claims["sid"])


async def refresh(gql: GraphQLClient, token: str) -> dict[str, Any]:
    return await gql.run(REFRESH, {"token": token})


async def viewer_email(gql: GraphQLClient, token: str) -> str:
    body = await gql.as_user(token).run(VIEWER)
    assert "errors" not in body, body
    email: str = body["data"]["viewer"]["user"]["email"]
    return email


async def email_of(services: Services, user_id: int) -> str:
    async with services.db.read() as conn:
        email: str = (await conn.execute(select(User.email).where(User.id == user_id))).scalar_one()
    return email


async def revoked_at(services: Services, session_id: str) -> datetime | None:
    async with services.db.read() as conn:
        statement = select(AuthSession.revoked_at).where(AuthSession.id == session_id)
        revoked: datetime | None = (await conn.execute(statement)).scalar_one()
    return revoked


@pytest.fixture
async def org(make_org: MakeOrg) -> SeededOrganization:
    return await make_org()


@pytest.fixture
async def owner(gql: GraphQLClient, org: SeededOrganization) -> Login:
    return await login(gql, org.owner_email)


# --- authLogin -------------------------------------------------------------------------------------


async def test_login_returns_tokens_and_the_viewer(
    gql: GraphQLClient, services: Services, org: SeededOrganization
) -> None:
    # Given a seeded organization's owner
    settings = services.settings
    before = utcnow().replace(microsecond=0)
    # When they log in
    body = await gql.run(LOGIN, {"email": org.owner_email, "password": PASSWORD})
    # Then they get an access token for their user and session, a refresh token and themselves
    assert "errors" not in body, body
    payload = body["data"]["authLogin"]
    assert payload["viewer"] == {
        "id": encode_id("User", org.user_ids[0]),
        "email": org.owner_email,
        "role": "OWNER",
    }
    assert payload["organization"] == {"id": encode_id("Organization", org.organization_id)}
    claims = jwt.decode(
        payload["accessToken"], settings.jwt_secret, algorithms=["HS256"], issuer=settings.jwt_issuer
    )
    assert claims["sub"] == str(org.user_ids[0])
    assert claims["typ"] == "access"
    assert payload["refreshToken"].startswith(f"{claims['sid']}.")
    assert await revoked_at(services, claims["sid"]) is None
    ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    expires = datetime.fromisoformat(payload["accessTokenExpiresAt"])
    assert before + ttl <= expires <= utcnow() + ttl
    # And the expiry it is told is the token's own, to the second: not a moment after it
    assert expires.timestamp() == claims["exp"]


async def test_login_failures_are_indistinguishable(
    gql: GraphQLClient, services: Services, org: SeededOrganization
) -> None:
    # Given a deactivated member (whose password is right) next to the active owner
    deactivated_id = org.user_ids[3]
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(User).where(User.id == deactivated_id).values(deactivated_at=utcnow()))
    attempts = {
        "wrong password": (org.owner_email, "not the password"),
        "unknown email": (f"nobody-{org.organization_id}@nowhere.test", PASSWORD),
        "deactivated user": (await email_of(services, deactivated_id), PASSWORD),
    }
    # When each logs in
    messages = set()
    for case, (email, password) in attempts.items():
        body = await gql.run(LOGIN, {"email": email, "password": password})
        # Then each gets one top-level UNAUTHENTICATED error and no data
        assert body["data"] is None, case
        error = only_error(body)
        assert error["extensions"]["code"] == "UNAUTHENTICATED", case
        assert error["path"] == ["authLogin"], case
        messages.add(error["message"])
    # And the message is the same for all three: nobody learns which emails exist
    assert len(messages) == 1, messages
    # And no session was made for either account
    async with services.db.read() as conn:
        count = select(func.count()).where(AuthSession.user_id.in_([org.user_ids[0], deactivated_id]))
        assert (await conn.execute(count)).scalar_one() == 0


async def password_hash_of(services: Services, user_id: int) -> str:
    async with services.db.read() as conn:
        stored: str = (await conn.execute(select(User.password_hash).where(User.id == user_id))).scalar_one()
    return stored


async def test_login_rehashes_a_password_hashed_with_old_parameters(
    gql: GraphQLClient, services: Services, org: SeededOrganization
) -> None:
    # Given an owner whose password was hashed with one lane, before today's parameters
    old_settings = make_settings(argon2_parallelism=1)
    old_hash = Passwords(old_settings).hash_sync(PASSWORD)
    owner_id = org.user_ids[0]
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(User).where(User.id == owner_id).values(password_hash=old_hash))
    assert services.passwords.needs_rehash(old_hash)
    # When a wrong password is tried, the hash stays
    refused = await gql.run(LOGIN, {"email": org.owner_email, "password": "not the password"})
    assert only_error(refused)["extensions"]["code"] == "UNAUTHENTICATED"
    assert await password_hash_of(services, owner_id) == old_hash
    # When they log in with the right one
    first = await gql.run(LOGIN, {"email": org.owner_email, "password": PASSWORD})
    assert "errors" not in first, first
    # Then the stored hash is today's, of the same password, in the login's statements
    upgraded = await password_hash_of(services, owner_id)
    assert upgraded != old_hash
    assert f"p={services.settings.argon2_parallelism}" in upgraded
    assert not services.passwords.needs_rehash(upgraded)
    assert await services.passwords.verify(upgraded, PASSWORD)
    # And the next login leaves it alone, with one statement fewer
    second = await gql.run(LOGIN, {"email": org.owner_email, "password": PASSWORD})
    assert "errors" not in second, second
    assert await password_hash_of(services, owner_id) == upgraded
    assert second["extensions"]["sqlStatements"] == first["extensions"]["sqlStatements"] - 1


# --- bearer tokens ---------------------------------------------------------------------------------


async def test_bearer_token_reads_the_viewer(
    gql: GraphQLClient, org: SeededOrganization, owner: Login
) -> None:
    # Given a logged-in owner
    # When they ask for the viewer with their bearer token
    body = await gql.as_user(owner.access_token).run(VIEWER)
    # Then they read themselves and their organization
    assert body["data"]["viewer"] == {
        "user": {"id": encode_id("User", owner.user_id), "email": org.owner_email},
        "organization": {"id": encode_id("Organization", org.organization_id)},
    }
    assert "errors" not in body


async def test_viewer_without_token_is_unauthenticated(gql: GraphQLClient) -> None:
    # Given no Authorization header
    # When the viewer is asked for
    body = await gql.run(VIEWER)
    # Then the field errors with UNAUTHENTICATED and there is no data
    assert body["data"] is None
    error = only_error(body)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["path"] == ["viewer"]


async def test_non_bearer_authorization_is_refused(gql: GraphQLClient, owner: Login) -> None:
    # Given a valid token sent with another scheme
    # When the viewer is asked for
    response = await gql.post(VIEWER, authorization=f"Basic {owner.access_token}")
    # Then the request is refused before it runs
    assert_rejected(response)


def _claims(settings: Settings, session: Login, **overrides: Any) -> dict[str, Any]:
    now = int(utcnow().timestamp())
    claims = {
        "iss": settings.jwt_issuer,
        "sub": str(session.user_id),
        "sid": session.session_id,
        "typ": "access",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


def _b64url(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def expired(settings: Settings, session: Login) -> str:
    past = utcnow() - timedelta(seconds=settings.access_token_ttl_seconds + 60)
    return issue_access_token(settings, user_id=session.user_id, session_id=session.session_id, now=past)


def other_secret(settings: Settings, session: Login) -> str:
    return jwt.encode(_claims(settings, session), OTHER_SECRET, algorithm="HS256")


def alg_none(settings: Settings, session: Login) -> str:
    header = {"alg": "none", "typ": "JWT"}
    return f"{_b64url(header)}.{_b64url(_claims(settings, session))}."


def malformed(settings: Settings, session: Login) -> str:
    return "not-a.jwt.at-all"


def refresh_as_access(settings: Settings, session: Login) -> str:
    return session.refresh_token


def refresh_typed_jwt(settings: Settings, session: Login) -> str:
    return jwt.encode(_claims(settings, session, typ="refresh"), settings.jwt_secret, algorithm="HS256")


def other_issuer(settings: Settings, session: Login) -> str:
    return jwt.encode(_claims(settings, session, iss="elsewhere"), settings.jwt_secret, algorithm="HS256")


def unknown_session(settings: Settings, session: Login) -> str:
    return issue_access_token(settings, user_id=session.user_id, session_id=new_session_id(), now=utcnow())


def someone_elses_session(settings: Settings, session: Login) -> str:
    return issue_access_token(
        settings, user_id=session.user_id + 1, session_id=session.session_id, now=utcnow()
    )


FORGERIES = [
    expired,
    other_secret,
    alg_none,
    malformed,
    refresh_as_access,
    refresh_typed_jwt,
    other_issuer,
    unknown_session,
    someone_elses_session,
]


async def test_a_token_a_moment_past_its_expiry_is_still_accepted(
    gql: GraphQLClient, services: Services, owner: Login
) -> None:
    # Given a token whose expiry passed 2 s ago (within the leeway: a request that waited for a slot)
    settings = services.settings
    assert settings.access_token_leeway_seconds == 5
    ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    just = issue_access_token(
        settings,
        user_id=owner.user_id,
        session_id=owner.session_id,
        now=utcnow() - ttl - timedelta(seconds=2),
    )
    # Then it still reads the viewer, where one 60 s past is refused (the `expired` forgery below)
    response = await gql.as_user(just).post(VIEWER)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    assert_rejected(await gql.as_user(expired(settings, owner)).post(VIEWER))


@pytest.mark.parametrize("forge", FORGERIES, ids=[f.__name__ for f in FORGERIES])
async def test_bad_access_token_gets_401(
    gql: GraphQLClient, services: Services, owner: Login, forge: Callable[[Settings, Login], str]
) -> None:
    # Given a live session and a token made from it that must not pass
    token = forge(services.settings, owner)
    # When it is used on the viewer
    response = await gql.as_user(token).post(VIEWER)
    # Then the request is refused with 401 and UNAUTHENTICATED, and says how to authenticate
    assert_rejected(response)
    assert response.headers["www-authenticate"].startswith("Bearer")
    # And the session's own token still works (the refusal was about the forged token alone)
    assert await viewer_email(gql, owner.access_token)


# --- authRefresh -----------------------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_session(
    gql: GraphQLClient, services: Services, org: SeededOrganization, owner: Login
) -> None:
    # Given a session refreshed twice
    first = await refresh(gql, owner.refresh_token)
    assert "errors" not in first, first
    second = await refresh(gql, first["data"]["authRefresh"]["refreshToken"])
    assert "errors" not in second, second
    newest = second["data"]["authRefresh"]
    # Then every refresh gave new tokens, and the newest work
    tokens = {owner.refresh_token, first["data"]["authRefresh"]["refreshToken"], newest["refreshToken"]}
    assert len(tokens) == 3
    assert newest["viewer"] == {"id": encode_id("User", owner.user_id)}
    assert await viewer_email(gql, newest["accessToken"]) == org.owner_email
    # When the first refresh token is presented again (a stolen copy, say)
    replay = await refresh(gql, owner.refresh_token)
    # Then it is refused
    assert replay["data"] is None
    assert only_error(replay)["extensions"]["code"] == "UNAUTHENTICATED"
    # And the whole session is revoked: even the newest tokens stop working
    assert await revoked_at(services, owner.session_id) is not None
    assert_rejected(await gql.as_user(newest["accessToken"]).post(VIEWER))
    again = await refresh(gql, newest["refreshToken"])
    assert only_error(again)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_refresh_with_garbage_is_unauthenticated(gql: GraphQLClient) -> None:
    # Given refresh tokens that no session ever issued
    for token in ("garbage", f"{new_session_id()}.made-up-secret"):
        # When each is presented
        body = await refresh(gql, token)
        # Then it is refused
        assert body["data"] is None
        assert only_error(body)["extensions"]["code"] == "UNAUTHENTICATED"


# --- authLogout and the session cache --------------------------------------------------------------


async def test_logout_revokes_at_once(gql: GraphQLClient, services: Services, owner: Login) -> None:
    # Given a session whose state is cached in Redis
    user = gql.as_user(owner.access_token)
    assert "errors" not in await user.run(VIEWER)
    key = session_cache_key(owner.session_id)
    cached = await services.cache.redis.get(key)
    assert cached is not None
    assert json.loads(cached)["revoked_at"] is None
    # When the user logs out
    body = await user.run(LOGOUT)
    assert body["data"] == {"authLogout": {"ok": True}}
    # Then the cached copy no longer vouches for the session, and MariaDB says revoked
    recached = await services.cache.redis.get(key)
    assert recached is None or json.loads(recached)["revoked_at"] is not None
    assert await revoked_at(services, owner.session_id) is not None
    # And the very next request with the same access token is refused
    assert_rejected(await user.post(VIEWER))


async def test_logout_without_token_is_unauthenticated(gql: GraphQLClient) -> None:
    # Given no token
    # When logout is called
    body = await gql.run(LOGOUT)
    # Then it errors with UNAUTHENTICATED
    assert body["data"] is None
    assert only_error(body)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_cached_session_costs_no_statement(
    gql: GraphQLClient, services: Services, owner: Login
) -> None:
    # Given a session not in the cache
    key = session_cache_key(owner.session_id)
    await services.cache.redis.delete(key)
    user = gql.as_user(owner.access_token)
    # When one authenticated request runs
    first = await user.run(VIEWER)
    # Then it read the session from MariaDB (one statement) and cached it with a bounded lifetime
    assert first["extensions"]["sqlStatements"] == 1
    assert await services.cache.redis.exists(key) == 1
    assert 0 < await services.cache.redis.ttl(key) <= services.settings.session_cache_ttl_seconds
    # And a second request authenticates from Redis alone (the viewer needs no statement either)
    second = await user.run(VIEWER)
    assert second["extensions"]["sqlStatements"] == 0
    assert second["data"] == first["data"]


# --- Redis down ------------------------------------------------------------------------------------


@dataclass
class PrivateStack:
    gql: GraphQLClient
    services: Services
    redis: PrivateRedis


@pytest.fixture
async def private_stack(database: str, private_redis: PrivateRedis) -> AsyncIterator[PrivateStack]:
    """A second app on the shared MariaDB whose cache is the private Redis."""
    services = build_services(make_settings(redis_url=private_redis.url))
    transport = httpx.ASGITransport(app=create_app(services=services), client=("127.0.0.1", 50001))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
            yield PrivateStack(GraphQLClient(http), services, private_redis)
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()


async def test_redis_down_serves_from_mariadb(private_stack: PrivateStack, org: SeededOrganization) -> None:
    gql, cache = private_stack.gql, private_stack.services.cache
    # Given a login and a query served while the private Redis is up
    before = await login(gql, org.owner_email)
    assert await viewer_email(gql, before.access_token) == org.owner_email
    assert await cache.redis.exists(session_cache_key(before.session_id)) == 1
    # When that Redis dies
    private_stack.redis.kill()
    started = time.monotonic()
    # Then login and authenticated queries still answer, from MariaDB, without a 5xx
    after = await login(gql, org.owner_email)
    for session in (before, after):
        response = await gql.as_user(session.access_token).post(VIEWER)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        assert body["data"]["viewer"]["user"]["email"] == org.owner_email
        assert body["extensions"]["sqlStatements"] == 1  # the session row, since the cache is gone
    # And quickly: the circuit breaker is open, so no request waits on the dead server
    assert time.monotonic() - started < 2.0
    assert cache.breaker.is_open
    # And logout still takes effect at once (MariaDB holds the truth)
    user = gql.as_user(after.access_token)
    assert (await user.run(LOGOUT))["data"] == {"authLogout": {"ok": True}}
    assert_rejected(await user.post(VIEWER))
    assert await viewer_email(gql, before.access_token) == org.owner_email
