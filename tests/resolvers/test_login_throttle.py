"""Failed logins and password reset requests are throttled per email and per client address."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from jobs.enqueue import PASSWORD_RESET_EMAIL
from perf.shared.private_redis import PrivateRedis
from persistence.attempts import AttemptCounters
from persistence.models import AuthSession, PasswordReset, User
from persistence.redis import create_redis
from persistence.redis_breaker import RedisBreaker
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.app import create_app
from tests.conftest import PASSWORD, GraphQLClient, make_settings

MakeOrg = Callable[[], Awaitable[SeededOrganization]]
# A client of its own for every test (the suite's other tests log in from 127.0.0.1).
_addresses = (f"10.7.{n // 250}.{n % 250 + 1}" for n in itertools.count())

LOGIN = """
mutation($email: String!, $password: String!) {
  authLogin(input: {email: $email, password: $password}) { accessToken }
}"""
RESET_REQUEST = """
mutation($email: String!) { passwordResetRequest(input: {email: $email}) { accepted errors { code } } }"""
WRONG = "not the password at all"


@dataclasses.dataclass
class Clients:
    """Posts GraphQL to an app with the given settings, from the address one chooses."""

    services: Services
    stack: list[httpx.AsyncClient]

    async def at(self, address: str, **settings: Any) -> GraphQLClient:
        services = self.services
        if settings:
            services = dataclasses.replace(services, settings=make_settings(**settings))
        transport = httpx.ASGITransport(app=create_app(services=services), client=(address, 50000))
        http = httpx.AsyncClient(transport=transport, base_url="http://taskql.test")
        self.stack.append(http)
        return GraphQLClient(http)


@pytest.fixture
async def clients(services: Services) -> AsyncIterator[Clients]:
    made = Clients(services, [])
    yield made
    for http in made.stack:
        await http.aclose()


async def _login(gql: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    body: dict[str, Any] = await gql.run(LOGIN, {"email": email, "password": password})
    return body


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    if not errors:
        return None
    assert len(errors) == 1, errors
    code: str = errors[0]["extensions"]["code"]
    return code


async def _sessions(services: Services, user_id: int) -> int:
    async with services.db.read() as conn:
        count = await conn.scalar(select(func.count()).where(AuthSession.user_id == user_id))
    return int(count or 0)


async def _email_of(services: Services, user_id: int) -> str:
    async with services.db.read() as conn:
        email: str = (await conn.execute(select(User.email).where(User.id == user_id))).scalar_one()
    return email


async def _reset_ids(services: Services, user_id: int) -> list[int]:
    async with services.db.read() as conn:
        rows = await conn.execute(select(PasswordReset.id).where(PasswordReset.user_id == user_id))
    return sorted(int(row.id) for row in rows)


def _assert_rate_limited(body: dict[str, Any], message: str, window_seconds: int) -> None:
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    retry_after = error["extensions"]["retryAfter"]
    assert 0 < retry_after <= window_seconds
    assert error["message"] == f"{message}; try again in {retry_after} s"


async def test_five_wrong_passwords_lock_the_email_even_against_the_right_one(
    clients: Clients, services: Services, make_org: MakeOrg
) -> None:
    # Given a user and five failed logins on their email
    org = await make_org()
    gql = await clients.at(next(_addresses))
    for _ in range(5):
        assert _code(await _login(gql, org.owner_email, WRONG)) == "UNAUTHENTICATED"
    sessions_before = await _sessions(services, org.user_ids[0])
    # When the right password is given
    body = await _login(gql, org.owner_email, PASSWORD)
    # Then the login is refused for the rest of the 15-minute window
    _assert_rate_limited(body, "too many failed logins", 15 * 60)
    # And no session was made
    assert await _sessions(services, org.user_ids[0]) == sessions_before


async def test_an_unknown_email_is_throttled_alike(clients: Clients, make_org: MakeOrg) -> None:
    # Given five failed logins on an email nobody has, and five on a real user's
    org = await make_org()
    gql = await clients.at(next(_addresses))
    unknown = f"nobody-{org.organization_id}@nowhere.test"
    for email in (unknown, org.owner_email):
        for _ in range(5):
            assert _code(await _login(gql, email, WRONG)) == "UNAUTHENTICATED"
    # When each is tried once more
    answers = [await _login(gql, email, WRONG) for email in (unknown, org.owner_email)]
    # Then both are refused alike: the answer does not tell which email has an account
    for body in answers:
        _assert_rate_limited(body, "too many failed logins", 15 * 60)
    assert {re.sub(r"\d+", "N", body["errors"][0]["message"]) for body in answers} == {
        "too many failed logins; try again in N s"
    }


async def test_an_address_is_throttled_across_emails(
    clients: Clients, services: Services, make_org: MakeOrg
) -> None:
    # Given an app that allows 3 failed logins per address, and 3 failures on 3 emails from one address
    org = await make_org()
    address = next(_addresses)
    gql = await clients.at(address, login_failures_per_address=3)
    for n in range(3):
        assert _code(await _login(gql, f"guess-{n}-{org.organization_id}@nowhere.test", WRONG)) == (
            "UNAUTHENTICATED"
        )
    sessions_before = await _sessions(services, org.user_ids[0])
    # When a fourth email is tried from that address, even with its right password
    body = await _login(gql, org.owner_email, PASSWORD)
    # Then it is refused and no session is made
    _assert_rate_limited(body, "too many failed logins", 15 * 60)
    assert await _sessions(services, org.user_ids[0]) == sessions_before
    # And another address logs the same user in
    other = await clients.at(next(_addresses), login_failures_per_address=3)
    assert _code(await _login(other, org.owner_email, PASSWORD)) is None


async def test_a_success_clears_the_email_count_but_not_the_address_count(
    clients: Clients, services: Services, make_org: MakeOrg
) -> None:
    # Given an app allowing 5 failures per email and 9 per address, and a user who failed 4 times
    org = await make_org()
    colleague = await _email_of(services, org.user_ids[1])
    gql = await clients.at(next(_addresses), login_failures_per_address=9)
    for _ in range(4):
        assert _code(await _login(gql, org.owner_email, WRONG)) == "UNAUTHENTICATED"
    # When they log in
    assert _code(await _login(gql, org.owner_email, PASSWORD)) is None
    # Then their email may fail 4 more times and still log in (its count started afresh)
    for _ in range(4):
        assert _code(await _login(gql, org.owner_email, WRONG)) == "UNAUTHENTICATED"
    assert _code(await _login(gql, org.owner_email, PASSWORD)) is None
    # But the address kept its 8 failures: one more by a colleague, and their right password is refused
    assert _code(await _login(gql, colleague, WRONG)) == "UNAUTHENTICATED"
    sessions_before = await _sessions(services, org.user_ids[1])
    _assert_rate_limited(await _login(gql, colleague, PASSWORD), "too many failed logins", 15 * 60)
    assert await _sessions(services, org.user_ids[1]) == sessions_before


async def test_password_reset_requests_are_throttled_per_email(
    clients: Clients, services: Services, make_org: MakeOrg
) -> None:
    # Given three reset requests for one user's email
    org = await make_org()
    gql = await clients.at(next(_addresses))
    for _ in range(3):
        body = await gql.run(RESET_REQUEST, {"email": org.owner_email})
        assert body["data"]["passwordResetRequest"] == {"accepted": True, "errors": []}
    await services.emails.drain()
    resets_before = await _reset_ids(services, org.user_ids[0])
    # When a fourth is asked for within the hour
    body = await gql.run(RESET_REQUEST, {"email": org.owner_email})
    # Then it is refused and writes no reset
    _assert_rate_limited(body, "too many password reset requests", 3600)
    await services.emails.drain()
    assert await _reset_ids(services, org.user_ids[0]) == resets_before
    assert len(resets_before) == 3
    # (No worker runs here: the queued emails must not be sent to another test's mail sink.)
    for reset_id in resets_before:
        job = Job.fetch(
            PASSWORD_RESET_EMAIL.job_id(reset_id),
            connection=services.emails.connection,
            serializer=JSONSerializer,
        )
        job.delete()


async def test_password_reset_requests_are_throttled_per_address(clients: Clients, make_org: MakeOrg) -> None:
    # Given an app allowing 2 reset requests per address, and 2 asked for from one address
    org = await make_org()
    gql = await clients.at(next(_addresses), reset_requests_per_address=2)
    for n in range(2):
        body = await gql.run(RESET_REQUEST, {"email": f"reset-{n}-{org.organization_id}@nowhere.test"})
        assert body["data"]["passwordResetRequest"]["accepted"] is True
    # When a third email is asked for from it
    body = await gql.run(RESET_REQUEST, {"email": org.owner_email})
    # Then it is refused
    _assert_rate_limited(body, "too many password reset requests", 3600)


async def test_with_redis_down_logins_go_unthrottled_and_the_outage_is_logged_once(
    clients: Clients,
    services: Services,
    make_org: MakeOrg,
    private_redis: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given login counters on a Redis that has stopped
    org = await make_org()
    dead = create_redis(make_settings(redis_url=private_redis.url, redis_socket_timeout=0.2))
    private_redis.kill()
    attempts = AttemptCounters(dead, RedisBreaker(0.0).view("login throttling"))
    clients.services = dataclasses.replace(services, attempts=attempts)
    gql = await clients.at(next(_addresses))
    with caplog.at_level(logging.WARNING, logger="persistence.redis_breaker"):
        # When a user fails more often than the limit, then gives the right password
        for _ in range(6):
            assert _code(await _login(gql, org.owner_email, WRONG)) == "UNAUTHENTICATED"
        body = await _login(gql, org.owner_email, PASSWORD)
    # Then the login works: the throttle fails open
    assert _code(body) is None
    # And the outage was logged once, not once per login
    outages = [
        r for r in caplog.records if "Redis unavailable (noticed by login throttling)" in r.getMessage()
    ]
    assert len(outages) == 1
    await dead.aclose()


async def test_many_people_behind_one_address_log_in_at_once(
    clients: Clients, services: Services, make_org: MakeOrg
) -> None:
    # Given an address allowed two failures, and a team of eight behind it (an office, a proxy)
    org = await make_org()
    gql = await clients.at(next(_addresses), login_failures_per_address=2)
    emails = [await _email_of(services, user_id) for user_id in org.user_ids]
    # When they all log in at the same moment
    answers = await asyncio.gather(*(_login(gql, email, PASSWORD) for email in emails))
    # Then every one of them is let in: only failures count against an address
    assert [_code(body) for body in answers] == [None] * len(emails)
    # And failures still do: after two, the address is refused
    for _ in range(2):
        assert _code(await _login(gql, emails[0], WRONG)) == "UNAUTHENTICATED"
    _assert_rate_limited(await _login(gql, emails[1], PASSWORD), "too many failed logins", 15 * 60)
