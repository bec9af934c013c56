"""passwordResetRequest/Confirm end to end: the mutation -> RQ on the suite's Redis -> a real worker
process -> SMTP (the sink) -> the token from the email -> passwordResetConfirm."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import func, select, update

from jobs.email import SENT
from jobs.enqueue import PASSWORD_RESET_EMAIL
from jobs.password_reset import reset_token
from persistence.models import AuthSession, Event, PasswordReset, User
from persistence.models.base import utcnow
from persistence.seed import SeededOrganization
from resolvers.context import Services
from tests.conftest import PASSWORD, GraphQLClient
from tests.jobs.sink import Sink
from tests.jobs.waiting import finished, until
from tests.jobs.worker_process import PUBLIC_BASE_URL

MakeOrg = Callable[[], Any]
NEW_PASSWORD = "a brand new passphrase"
REQUEST = """
mutation($email: String!) { passwordResetRequest(input: {email: $email}) {
  accepted errors { field code message } } }"""
CONFIRM = """
mutation($token: String!, $password: String!) {
  passwordResetConfirm(input: {token: $token, newPassword: $password}) {
    passwordChanged errors { field code message } } }"""
VIEWER = "{ viewer { user { id } } }"
LOGIN = "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }"
ACCEPTED = {"accepted": True, "errors": []}
INVALID = {
    "passwordChanged": False,
    "errors": [{"field": "token", "code": "INVALID", "message": "this token is unknown, used or expired"}],
}


async def _request(gql: GraphQLClient, email: str) -> dict[str, Any]:
    body = await gql.run(REQUEST, {"email": email})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["passwordResetRequest"]
    return payload


async def _confirm(gql: GraphQLClient, token: str, password: str = NEW_PASSWORD) -> dict[str, Any]:
    body = await gql.run(CONFIRM, {"token": token, "password": password})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["passwordResetConfirm"]
    return payload


async def _logs_in(gql: GraphQLClient, email: str, password: str) -> bool:
    body = await gql.run(LOGIN, {"e": email, "p": password})
    return "errors" not in body


async def _user(services: Services, email: str) -> Any:
    async with services.db.read() as conn:
        return (await conn.execute(select(User.__table__).where(User.email == email))).one()


async def _resets(services: Services, user_id: int | None = None) -> list[Any]:
    table = PasswordReset.__table__
    statement = select(table).order_by(table.c.id)
    if user_id is not None:
        statement = statement.where(table.c.user_id == user_id)
    async with services.db.read() as conn:
        return list((await conn.execute(statement)).all())


async def _live_sessions(services: Services, user_id: int) -> int:
    async with services.db.read() as conn:
        count = await conn.scalar(
            select(func.count()).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        )
    return int(count or 0)


def _reset_jobs(rq_redis: Redis) -> set[bytes]:
    return set(rq_redis.scan_iter(match="rq:job:email-password-reset-*"))


@pytest.mark.usefixtures("worker")
async def test_a_reset_email_carries_a_token_that_sets_the_password_once(
    services: Services, gql: GraphQLClient, make_org: MakeOrg, sink: Sink, rq_redis: Redis
) -> None:
    # Given a user signed in (their session cached by a request)
    org: SeededOrganization = await make_org()
    email = org.owner_email
    user = await _user(services, email)
    old = gql.as_user(await gql.login(email))
    assert "errors" not in await old.run(VIEWER)
    # When someone asks for a reset of their email, in another case
    assert await _request(gql, email.upper()) == ACCEPTED
    # Then one row holds only the token's hash, and the worker sends one email with the token
    [reset] = await _resets(services, user.id)
    job_id = PASSWORD_RESET_EMAIL.job_id(reset.id)
    await until(lambda: bool(sink.to(email)), 15, "the reset email")
    await until(lambda: finished(rq_redis, job_id), 5, "the job to finish")
    assert Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer).args == [reset.id]
    assert Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer).return_value() == SENT
    [message] = sink.to(email)
    assert message["Message-ID"] == f"<password-reset.{reset.id}@mail.taskql.test>"
    token = reset_token(services.settings.jwt_secret, reset.nonce)
    text = message.get_body(("plain",))
    assert text is not None
    assert token in text.get_content()
    # with the page to choose a password at, from the public base URL
    assert f"    {PUBLIC_BASE_URL}/reset-password?token={token}" in text.get_content().splitlines()
    html = message.get_body(("html",))
    assert html is not None
    assert f'<a href="{PUBLIC_BASE_URL}/reset-password?token={token}">' in html.get_content()
    assert reset.token_hash != token
    assert reset.expires_at - reset.created_at == timedelta(hours=1)
    # When the token confirms a new password
    assert await _confirm(gql, token) == {"passwordChanged": True, "errors": []}
    # Then the old password stops working, the new one works, and the old session ends at once
    assert not await _logs_in(gql, email, PASSWORD)
    assert await _logs_in(gql, email, NEW_PASSWORD)
    response = await old.post(VIEWER)
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    [used] = await _resets(services, user.id)
    assert used.used_at is not None
    async with services.db.read() as conn:
        events = Event.__table__
        [event] = (
            await conn.execute(
                select(events).where(events.c.actor_id == user.id, events.c.type == "user.password_reset")
            )
        ).all()
    assert event.payload == {"user_id": user.id, "reset_id": reset.id}
    # And the token works once: a second confirmation is INVALID and changes nothing
    before = await _user(services, email)
    sessions = await _live_sessions(services, user.id)
    assert await _confirm(gql, token, "yet another passphrase") == INVALID
    assert (await _user(services, email)).password_hash == before.password_hash
    assert await _live_sessions(services, user.id) == sessions
    assert await _logs_in(gql, email, NEW_PASSWORD)


@pytest.mark.usefixtures("worker")
async def test_an_unknown_or_deactivated_email_gets_the_same_answer_and_nothing_else(
    services: Services, gql: GraphQLClient, make_org: MakeOrg, sink: Sink, rq_redis: Redis
) -> None:
    # Given an organization with a deactivated member
    org: SeededOrganization = await make_org()
    member_id = org.user_ids[-1]
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(User).where(User.id == member_id).values(deactivated_at=utcnow()))
        member_email = await conn.scalar(select(User.email).where(User.id == member_id))
    assert member_email is not None
    rows, jobs = len(await _resets(services)), _reset_jobs(rq_redis)
    unknown = f"nobody@{org.owner_email.partition('@')[2]}"
    # When someone asks for resets of an unknown email and of the deactivated one
    for email in (unknown, member_email):
        assert await _request(gql, email) == ACCEPTED
    # Then the answer is the same as for a known one, and no row, job or email follows
    await asyncio.sleep(1)
    assert len(await _resets(services)) == rows
    assert _reset_jobs(rq_redis) == jobs
    assert sink.attempts[unknown] == sink.attempts[member_email] == 0
    # And a malformed email is the only refusal
    assert await _request(gql, "not an email") == {
        "accepted": False,
        "errors": [{"field": "email", "code": "INVALID", "message": "not an email address"}],
    }


async def test_an_expired_or_unknown_token_is_invalid_and_changes_nothing(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given a user with a reset that has expired, and a live session
    org: SeededOrganization = await make_org()
    email = org.owner_email
    user = await _user(services, email)
    session = gql.as_user(await gql.login(email))
    assert await _request(gql, email) == ACCEPTED
    [reset] = await _resets(services, user.id)
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            update(PasswordReset)
            .where(PasswordReset.id == reset.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    token = reset_token(services.settings.jwt_secret, reset.nonce)
    sessions = await _live_sessions(services, user.id)
    # When its token, or one never issued, or an absurdly long one, confirms a new password
    for presented in (token, "never-issued", "x" * 10_000):
        assert await _confirm(gql, presented) == INVALID
    # Then nothing changed: the password, the reset, the sessions
    assert (await _user(services, email)).password_hash == user.password_hash
    assert (await _resets(services, user.id))[0].used_at is None
    assert await _live_sessions(services, user.id) == sessions
    assert "errors" not in await session.run(VIEWER)
    # And a too short new password is refused before the token is even looked at
    short = await _confirm(gql, token, "short")
    assert short["errors"][0]["field"] == "newPassword"
