"""Signing keys rotate without signing anyone out: access tokens, download links and the tokens of
emails made under the previous key keep working while it is kept, and stop once it is dropped."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import jwt
import pytest
from pydantic import ValidationError

from jobs.tokens import derived_token, stored_token
from persistence.enums import OrgRole
from persistence.models.base import utcnow
from persistence.seed import SeededOrganization
from persistence.settings import Settings
from resolvers import signed_links
from resolvers.context import Services
from resolvers.errors import Unauthenticated
from resolvers.principal import Principal
from resolvers.tokens import read_access_token
from schema.app import create_app
from tests.conftest import GraphQLClient, make_settings

MakeOrg = Callable[..., Awaitable[SeededOrganization]]
VIEWER = "{ viewer { user { email } } }"
KEY_A = "key-a-" + "a" * 40
KEY_B = "key-b-" + "b" * 40


def signing_with_a(**more: Any) -> Settings:
    return make_settings(jwt_signing_key_id="a", jwt_secret=KEY_A, **more)


def rotated_to_b() -> Settings:
    """The deploy after the rotation: B signs, A still verifies."""
    return make_settings(jwt_signing_key_id="b", jwt_secret=KEY_B, jwt_previous_secrets={"a": KEY_A})


def a_dropped() -> Settings:
    return make_settings(jwt_signing_key_id="b", jwt_secret=KEY_B)


@asynccontextmanager
async def app_with(services: Services, settings: Settings) -> AsyncIterator[GraphQLClient]:
    """A fresh app on the suite's database and Redis, as a server restarted with ``settings``."""
    app = create_app(services=replace(services, settings=settings))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        yield GraphQLClient(http)


async def viewer_email(gql: GraphQLClient, token: str) -> str | list[str]:
    """The viewer's email, or the errors' codes."""
    body = await gql.as_user(token).run(VIEWER)
    if "errors" in body:
        return [error["extensions"]["code"] for error in body["errors"]]
    email: str = body["data"]["viewer"]["user"]["email"]
    return email


async def test_a_token_signed_before_a_rotation_works_until_its_key_is_dropped(
    services: Services, make_org: MakeOrg
) -> None:
    org = await make_org()
    # Given a token signed with key A
    async with app_with(services, signing_with_a()) as before:
        old_token = await before.login(org.owner_email)
    assert jwt.get_unverified_header(old_token)["kid"] == "a"
    # When the servers restart with B as the signing key and A kept for verification
    async with app_with(services, rotated_to_b()) as rotated:
        # Then the old token still authenticates, and new tokens are signed with B
        assert await viewer_email(rotated, old_token) == org.owner_email
        new_token = await rotated.login(org.owner_email)
        assert jwt.get_unverified_header(new_token)["kid"] == "b"
        assert jwt.decode(new_token, KEY_B, algorithms=["HS256"], issuer="taskql")["sub"]
    # When A is dropped
    async with app_with(services, a_dropped()) as contracted:
        # Then the old token is refused, and the new one still works
        assert await viewer_email(contracted, old_token) == ["UNAUTHENTICATED"]
        assert await viewer_email(contracted, new_token) == org.owner_email


async def test_a_token_without_a_key_id_is_read_with_the_current_key(
    services: Services, make_org: MakeOrg
) -> None:
    """Tokens issued before tokens named their key carry no kid: the current key signed them."""
    org = await make_org()
    async with app_with(services, signing_with_a()) as before:
        token = await before.login(org.owner_email)
    claims = jwt.decode(token, KEY_A, algorithms=["HS256"], issuer="taskql")
    without_kid = jwt.encode(claims, KEY_A, algorithm="HS256")
    assert "kid" not in jwt.get_unverified_header(without_kid)
    async with app_with(services, signing_with_a()) as same_key:
        assert await viewer_email(same_key, without_kid) == org.owner_email
    # Once B signs, a kid-less token is read with B: A's signature no longer matches.
    async with app_with(services, rotated_to_b()) as rotated:
        assert await viewer_email(rotated, without_kid) == ["UNAUTHENTICATED"]


def test_a_token_naming_an_unknown_key_is_unauthenticated() -> None:
    settings = rotated_to_b()
    claims = {"iss": "taskql", "sub": "1", "sid": "0" * 32, "typ": "access", "iat": 1, "exp": 2**40}
    # Signed with the current key, so only the kid can be why it is refused.
    token = jwt.encode(claims, KEY_B, algorithm="HS256", headers={"kid": "z"})
    with pytest.raises(Unauthenticated, match="unknown key"):
        read_access_token(settings, token)


def _member(organization_id: int, user_id: int) -> Principal:
    return Principal(
        user_id=user_id,
        organization_id=organization_id,
        role=OrgRole.MEMBER,
        is_operator=False,
        session_id="0" * 32,
        expires_at=utcnow(),
        user={},
        organization={},
    )


def _query(url: str) -> dict[str, str]:
    return dict(httpx.URL(url).params)


def test_a_download_link_signed_before_a_rotation_works_until_its_key_is_dropped() -> None:
    link = signed_links.signed_url(signing_with_a(), "/attachments/x", "attachment", 9, _member(3, 5))
    query = _query(link)
    assert query["key"] == "a"
    scope = signed_links.verify(rotated_to_b(), "attachment", 9, query)
    assert (scope.organization_id, scope.user_id) == (3, 5)
    with pytest.raises(signed_links.LinkRefused, match="no longer holds"):
        signed_links.verify(a_dropped(), "attachment", 9, query)
    # Naming another key it holds does not help a link: the signature is A's.
    with pytest.raises(signed_links.LinkRefused, match="does not match"):
        signed_links.verify(rotated_to_b(), "attachment", 9, {**query, "key": "b"})
    # A link from before links named their key was signed with the then current key.
    legacy = {name: value for name, value in query.items() if name != "key"}
    assert signed_links.verify(signing_with_a(), "attachment", 9, legacy).user_id == 5
    with pytest.raises(signed_links.LinkRefused, match="does not match"):
        signed_links.verify(rotated_to_b(), "attachment", 9, legacy)


def test_an_email_token_made_under_the_previous_key_is_derived_again_under_it() -> None:
    """The mutation stores the token's hash under one key; the email job may run after a rotation."""
    nonce = "0123456789abcdef0123456789abcdef"
    made = derived_token(KEY_A, "password-reset", nonce)
    stored_hash = hashlib.sha256(made.encode()).hexdigest()
    rotated = rotated_to_b().jwt_verification_keys
    assert list(rotated) == ["b", "a"]  # the current key first: the usual case costs one HMAC
    assert stored_token(rotated.values(), "password-reset", nonce, stored_hash) == made
    only_b = a_dropped().jwt_verification_keys.values()
    assert stored_token(only_b, "password-reset", nonce, stored_hash) is None


@pytest.mark.parametrize(
    ("environment", "overrides", "message"),
    [
        ("test", {"jwt_previous_secrets": "a:short"}, "under 32 characters"),
        ("test", {"jwt_previous_secrets": "no-separator"}, "kid:secret"),
        ("test", {"jwt_previous_secrets": f"b:{KEY_A}"}, "must not name"),
        ("test", {"jwt_previous_secrets": f"a b:{KEY_A}"}, "not a valid key id"),
        ("test", {"jwt_signing_key_id": "a:b"}, "jwt_signing_key_id"),
        (
            "production",
            {"jwt_previous_secrets": f"a:{Settings.model_fields['jwt_secret'].default}"},
            "development secret",
        ),
    ],
)
def test_bad_key_settings_are_refused_at_start(
    environment: str, overrides: dict[str, Any], message: str
) -> None:
    values = {"environment": environment, "jwt_signing_key_id": "b", "jwt_secret": KEY_B, **overrides}
    with pytest.raises(ValidationError, match=message):
        Settings(**values)


def test_previous_keys_come_from_the_environment_as_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKQL_JWT_PREVIOUS_SECRETS", f"a:{KEY_A}, old:{KEY_B}")
    assert Settings().jwt_previous_secrets == {"a": KEY_A, "old": KEY_B}
