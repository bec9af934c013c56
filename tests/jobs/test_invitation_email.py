"""userInvite end to end: the mutation -> RQ on the suite's Redis -> a real worker process -> SMTP (the
sink) -> the token from the email -> invitationAccept."""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from jobs.email import SENT
from jobs.enqueue import INVITATION_EMAIL
from jobs.invitations import invitation_token
from persistence.models import Invitation, Organization, User
from persistence.seed import SeededOrganization
from resolvers.context import Services
from tests.conftest import PASSWORD, GraphQLClient
from tests.jobs.sink import Sink
from tests.jobs.waiting import finished, until
from tests.jobs.worker_process import PUBLIC_BASE_URL
from tests.notification_crew import MakeOrg

INVITE = """
mutation($input: UserInviteInput!) {
  userInvite(input: $input) { invitation { id email } token errors { field code message } }
}"""
ACCEPT = """
mutation($input: InvitationAcceptInput!) {
  invitationAccept(input: $input) { user { email role } errors { field code message } }
}"""
_LINK_LINE = re.compile(r"^ {4}(\S+)\r?$", re.MULTILINE)


async def _invite(client: GraphQLClient, email: str, role: str = "MEMBER") -> dict[str, Any]:
    body = await client.run(INVITE, {"input": {"email": email, "role": role}})
    payload: dict[str, Any] = body["data"]["userInvite"] if body.get("data") else body
    return payload


async def _invitation(services: Services, email: str) -> Any:
    async with services.db.read() as conn:
        return (await conn.execute(select(Invitation.__table__).where(Invitation.email == email))).one()


@pytest.mark.usefixtures("worker")
async def test_an_invitation_email_carries_a_token_that_accepts_it(
    services: Services, gql: GraphQLClient, make_org: MakeOrg, sink: Sink, rq_redis: Redis
) -> None:
    # Given an organization's owner
    org: SeededOrganization = await make_org()
    owner = gql.as_user(await gql.login(org.owner_email))
    async with services.db.read() as conn:
        inviter = await conn.scalar(select(User.name).where(User.email == org.owner_email))
        organization = await conn.scalar(
            select(Organization.name).where(Organization.id == org.organization_id)
        )
    assert inviter is not None
    assert organization is not None
    email = f"ada-{org.organization_id}@invited.test"
    # When the owner invites someone
    invited = await _invite(owner, email)
    assert invited["errors"] == [], invited
    # Then the row holds the token's hash and a nonce (never the token), and the worker sends one email
    row = await _invitation(services, email)
    assert row.nonce is not None
    assert row.token_hash == hashlib.sha256(invited["token"].encode()).hexdigest()
    assert invitation_token(services.settings.jwt_secret, row.nonce) == invited["token"]
    await until(lambda: bool(sink.to(email)), 15, "the invitation email")
    job_id = INVITATION_EMAIL.job_id(row.id)
    assert job_id == f"email-invitation-{row.id}"
    await until(lambda: finished(rq_redis, job_id), 5, "the job to finish")
    job = Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer)
    assert (job.args, job.return_value()) == ([row.id], SENT)
    [message] = sink.to(email)
    # With its stable Message-ID, both bodies, who invited them to what, and how to accept
    assert message["Message-ID"] == f"<invitation.{row.id}@mail.taskql.test>"
    assert message["Subject"] == f"{inviter} invited you to {organization} on taskql"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert html is not None
    text = plain.get_content()
    assert inviter in text
    assert organization in text
    assert "invitationAccept" in text
    assert "<code>invitationAccept</code>" in html.get_content()
    # And the link to the invitation's page, from the public base URL, carries the token
    [link] = _LINK_LINE.findall(text)
    assert link == f"{PUBLIC_BASE_URL}/invitations/accept?token={invited['token']}"
    assert f'<a href="{link}">' in html.get_content()
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert token in text
    # When the invitee accepts with the emailed token (nobody signed in)
    body = await gql.run(ACCEPT, {"input": {"token": token, "name": "Ada Invitee", "password": PASSWORD}})
    # Then they are a member of the organization, and may log in
    assert body["data"]["invitationAccept"] == {"user": {"email": email, "role": "MEMBER"}, "errors": []}
    assert await gql.login(email)


@pytest.mark.usefixtures("worker")
async def test_a_refused_invitation_sends_nothing(
    services: Services, gql: GraphQLClient, make_org: MakeOrg, sink: Sink, rq_redis: Redis
) -> None:
    # Given an organization and one of its users' emails (who has an account already)
    org: SeededOrganization = await make_org()
    owner = gql.as_user(await gql.login(org.owner_email))
    async with services.db.read() as conn:
        member = await conn.scalar(select(User.email).where(User.id == org.user_ids[-1]))
    assert member is not None
    jobs = set(rq_redis.scan_iter(match="rq:job:email-invitation-*"))
    # When the owner invites that email
    invited = await _invite(owner, member)
    # Then it is a CONFLICT, and no invitation, job or email follows
    assert [(error["field"], error["code"]) for error in invited["errors"]] == [("email", "CONFLICT")]
    await services.emails.drain()
    await asyncio.sleep(0.5)
    async with services.db.read() as conn:
        assert (await conn.execute(select(Invitation.id).where(Invitation.email == member))).all() == []
    assert set(rq_redis.scan_iter(match="rq:job:email-invitation-*")) == jobs
    assert sink.attempts[member] == 0
