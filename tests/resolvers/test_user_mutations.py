"""Organization and user writes: sign-up, invitations, deactivation, roles, profile and password.
Each mutation's success, its expected failures in the payload, permission failures at the top,
nothing written by a refused write, sessions that end at once, idempotent replays, the budget."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from persistence.enums import OrgRole
from persistence.models import AuthSession, Event, Invitation, Organization, User
from persistence.models.base import utcnow
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import PASSWORD, GraphQLClient

MakeOrg = Callable[..., Awaitable[SeededOrganization]]
NEW_PASSWORD = "a new and longer passphrase"

ORG_CREATE = """
mutation($input: OrganizationCreateInput!) {
  organizationCreate(input: $input) { organization { id slug name } errors { field code message } }
}"""
INVITE = """
mutation($input: UserInviteInput!) {
  userInvite(input: $input) { invitation { id email role expiresAt } token errors { field code message } }
}"""
ACCEPT = """
mutation($input: InvitationAcceptInput!) {
  invitationAccept(input: $input) { user { id email name role } errors { field code message } }
}"""
DEACTIVATE = """
mutation($input: UserDeactivateInput!) {
  userDeactivate(input: $input) { user { id deactivated } errors { field code message } }
}"""
ROLE = """
mutation($input: UserRoleChangeInput!) {
  userRoleChange(input: $input) { user { id role } errors { field code message } }
}"""
PROFILE = """
mutation($input: UserProfileUpdateInput!) {
  userProfileUpdate(input: $input) { user { id name } errors { field code message } }
}"""
PASSWORD_CHANGE = """
mutation($input: PasswordChangeInput!) {
  passwordChange(input: $input) { user { id } errors { field code message } }
}"""
VIEWER = "{ viewer { user { id name role } } }"


@dataclass
class Team:
    """A seeded organization's owner, an admin and a member, signed in, and a member who is not."""

    org: SeededOrganization
    owner: GraphQLClient
    admin: GraphQLClient
    member: GraphQLClient
    owner_id: int
    admin_id: int
    member_id: int
    other_id: int


async def _email(services: Services, user_id: int) -> str:
    async with services.db.read() as conn:
        email: str = (await conn.execute(select(User.email).where(User.id == user_id))).scalar_one()
    return email


@pytest.fixture
async def team(gql: GraphQLClient, services: Services, make_org: MakeOrg) -> Team:
    org = await make_org()
    owner_id, admin_id, member_id, other_id = (
        org.user_ids[0],
        org.user_ids[1],
        org.user_ids[3],
        org.user_ids[4],
    )
    owner = gql.as_user(await gql.login(org.owner_email))
    admin = gql.as_user(await gql.login(await _email(services, admin_id)))
    member = gql.as_user(await gql.login(await _email(services, member_id)))
    return Team(org, owner, admin, member, owner_id, admin_id, member_id, other_id)


async def _counts(services: Services, organization_id: int) -> tuple[int, ...]:
    """(users, active users, invitations, events, live sessions) of the organization: a refused
    write leaves all of them alone."""
    users, sessions = User.__table__, AuthSession.__table__
    in_org = users.c.organization_id == organization_id
    async with services.db.read() as conn:
        counts = [
            await conn.scalar(select(func.count()).where(in_org)),
            await conn.scalar(select(func.count()).where(in_org, users.c.deactivated_at.is_(None))),
            await conn.scalar(
                select(func.count()).where(Invitation.__table__.c.organization_id == organization_id)
            ),
            await conn.scalar(
                select(func.count()).where(Event.__table__.c.organization_id == organization_id)
            ),
            await conn.scalar(
                select(func.count())
                .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
                .where(in_org, sessions.c.revoked_at.is_(None))
            ),
        ]
    return tuple(int(c or 0) for c in counts)


async def _user_row(services: Services, user_id: int) -> Any:
    async with services.db.read() as conn:
        return (await conn.execute(select(User.__table__).where(User.id == user_id))).one()


async def _events(services: Services, organization_id: int, type_: str) -> list[Any]:
    events = Event.__table__
    async with services.db.read() as conn:
        statement = select(events).where(events.c.organization_id == organization_id, events.c.type == type_)
        return list((await conn.execute(statement)).all())


def _payload(body: dict[str, Any], name: str) -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][name]
    return payload


def _errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def _forbidden(body: dict[str, Any]) -> bool:
    return body["data"] is None and [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


def _gid(user_id: int) -> str:
    return encode_id("User", user_id)


# --- organizationCreate ------------------------------------------------------------------------------


def _signup(tag: str, **overrides: Any) -> dict[str, Any]:
    values = {
        "slug": f"acme-{tag}",
        "name": "Acme",
        "ownerName": "Ada Owner",
        "ownerEmail": f"ada-{tag}@acme.test",
        "password": PASSWORD,
    }
    return {"input": {**values, **overrides}}


async def test_sign_up_makes_an_organization_whose_owner_can_log_in(
    gql: GraphQLClient, services: Services
) -> None:
    # Given nobody signed in; when someone signs up (three statements: no session to read)
    response = await gql.post(ORG_CREATE, _signup("new", ownerEmail="Ada-New@Acme.test"))
    body = response.json()
    payload = _payload(body, "organizationCreate")
    assert body["extensions"]["sqlStatements"] <= 4
    # Then the organization exists with its owner, and its event names both
    assert payload["errors"] == []
    assert (payload["organization"]["slug"], payload["organization"]["name"]) == ("acme-new", "Acme")
    async with services.db.read() as conn:
        owner = (await conn.execute(select(User.__table__).where(User.email == "ada-new@acme.test"))).one()
    assert payload["organization"]["id"] == encode_id("Organization", owner.organization_id)
    assert owner.role == OrgRole.OWNER
    [event] = await _events(services, owner.organization_id, "organization.created")
    assert (event.actor_id, event.project_id, event.sequence) == (owner.id, None, None)
    # And the owner logs in with the email as typed in any case
    viewer = gql.as_user(await gql.login("ada-new@acme.test"))
    assert (await viewer.run(VIEWER))["data"]["viewer"]["user"]["role"] == "OWNER"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"slug": "No Spaces"}, "slug"),
        ({"slug": "ab"}, "slug"),
        ({"name": "  "}, "name"),
        ({"ownerEmail": "not-an-email"}, "ownerEmail"),
        ({"password": "short"}, "password"),
    ],
)
async def test_sign_up_reports_bad_input_and_writes_nothing(
    gql: GraphQLClient, services: Services, overrides: dict[str, Any], field: str
) -> None:
    # Given the organizations there are; when a sign-up has one bad field
    async with services.db.read() as conn:
        before = await conn.scalar(select(func.count()).select_from(Organization))
    payload = _payload(await gql.run(ORG_CREATE, _signup("bad", **overrides)), "organizationCreate")
    # Then that field is INVALID in the payload and nothing was written
    assert (payload["organization"], _errors(payload)) == (None, [(field, "INVALID")])
    async with services.db.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(Organization)) == before


async def test_a_taken_slug_or_email_conflicts_and_writes_nothing(
    gql: GraphQLClient, services: Services, team: Team
) -> None:
    # Given an organization signed up as acme-taken
    assert _payload(await gql.run(ORG_CREATE, _signup("taken")), "organizationCreate")["errors"] == []
    async with services.db.read() as conn:
        before = (
            await conn.scalar(select(func.count()).select_from(Organization)),
            await conn.scalar(select(func.count()).select_from(User)),
        )
    # When the slug or an existing email is used again, then each is a CONFLICT on its field
    taken_slug = _signup("taken", ownerEmail="someone-else@acme.test")
    taken_email = _signup("other", ownerEmail=team.org.owner_email.upper())
    for variables, field in ((taken_slug, "slug"), (taken_email, "ownerEmail")):
        payload = _payload(await gql.run(ORG_CREATE, variables), "organizationCreate")
        assert _errors(payload) == [(field, "CONFLICT")]
    # And neither left an organization without an owner behind
    async with services.db.read() as conn:
        after = (
            await conn.scalar(select(func.count()).select_from(Organization)),
            await conn.scalar(select(func.count()).select_from(User)),
        )
    assert after == before


# --- userInvite, invitationAccept ----------------------------------------------------------------------


async def _invite(client: GraphQLClient, email: str, role: str = "MEMBER") -> dict[str, Any]:
    payload = _payload(await client.run(INVITE, {"input": {"email": email, "role": role}}), "userInvite")
    assert payload["errors"] == [], payload
    return payload


def _accept(token: str, name: str = "Grace Invitee") -> dict[str, Any]:
    return {"input": {"token": token, "name": name, "password": PASSWORD}}


async def test_an_invitation_admits_one_user_with_its_role_once(
    gql: GraphQLClient, services: Services, team: Team
) -> None:
    # Given an admin invites someone as an admin
    email = f"grace-{team.org.organization_id}@invited.test"
    invited = await _invite(team.admin, email, "ADMIN")
    token = invited["token"]
    assert invited["invitation"]["email"] == email
    assert invited["invitation"]["role"] == "ADMIN"
    # Then only the token's sha256 is stored, expiring in seven days, and the event has no token
    async with services.db.read() as conn:
        row = (await conn.execute(select(Invitation.__table__).where(Invitation.email == email))).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert timedelta(days=6, hours=23) < row.expires_at - utcnow() <= timedelta(days=7)
    [event] = await _events(services, team.org.organization_id, "user.invited")
    assert token not in str(event.payload)
    # When the invitee accepts (nobody signed in)
    response = await gql.post(ACCEPT, _accept(token))
    payload = _payload(response.json(), "invitationAccept")
    # Then they are a user of the organization with the invited role, and may log in
    assert payload["errors"] == []
    assert (payload["user"]["email"], payload["user"]["role"]) == (email, "ADMIN")
    assert response.json()["extensions"]["sqlStatements"] <= 4
    assert len(await _events(services, team.org.organization_id, "user.joined")) == 1
    # And the token admits nobody else
    before = await _counts(services, team.org.organization_id)
    again = _payload(await gql.run(ACCEPT, _accept(token, "Mallory")), "invitationAccept")
    assert _errors(again) == [("token", "INVALID")]
    assert await _counts(services, team.org.organization_id) == before


async def test_an_expired_or_unknown_token_admits_nobody(
    gql: GraphQLClient, services: Services, team: Team
) -> None:
    # Given an invitation that expired a second ago
    email = f"late-{team.org.organization_id}@invited.test"
    token = (await _invite(team.owner, email))["token"]
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            update(Invitation)
            .where(Invitation.email == email)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    # When it, or a token nobody issued, is accepted; then neither admits anyone
    before = await _counts(services, team.org.organization_id)
    expired = _payload(await gql.run(ACCEPT, _accept(token)), "invitationAccept")
    unknown = _payload(await gql.run(ACCEPT, _accept("not-a-token")), "invitationAccept")
    assert (_errors(expired), _errors(unknown)) == ([("token", "INVALID")], [("token", "NOT_FOUND")])
    assert await _counts(services, team.org.organization_id) == before


async def test_accepting_for_an_email_that_signed_up_meanwhile_conflicts(
    gql: GraphQLClient, services: Services, team: Team
) -> None:
    # Given an invitation, and then a sign-up with the invited email
    tag = str(team.org.organization_id)
    email = f"twice-{tag}@invited.test"
    token = (await _invite(team.owner, email))["token"]
    await gql.run(ORG_CREATE, _signup(f"twice-{tag}", ownerEmail=email))
    # When it is accepted, then it conflicts and the invitation stays unused
    payload = _payload(await gql.run(ACCEPT, _accept(token)), "invitationAccept")
    assert _errors(payload) == [("token", "CONFLICT")]
    async with services.db.read() as conn:
        accepted = await conn.scalar(select(Invitation.accepted_at).where(Invitation.email == email))
    assert accepted is None


async def test_who_may_invite_whom(team: Team, services: Services) -> None:
    tag = team.org.organization_id
    before = await _counts(services, tag)
    # A member may not invite; an admin may not invite an owner
    assert _forbidden(await team.member.run(INVITE, {"input": {"email": f"a-{tag}@x.test", "role": "GUEST"}}))
    assert _forbidden(await team.admin.run(INVITE, {"input": {"email": f"b-{tag}@x.test", "role": "OWNER"}}))
    # An existing account's email conflicts; a malformed one is invalid
    taken = _payload(
        await team.owner.run(INVITE, {"input": {"email": team.org.owner_email, "role": "MEMBER"}}),
        "userInvite",
    )
    malformed = _payload(
        await team.owner.run(INVITE, {"input": {"email": "x@", "role": "MEMBER"}}), "userInvite"
    )
    assert (_errors(taken), _errors(malformed)) == ([("email", "CONFLICT")], [("email", "INVALID")])
    assert await _counts(services, tag) == before
    # The owner may invite an owner
    assert (await _invite(team.owner, f"c-{tag}@x.test", "OWNER"))["invitation"]["role"] == "OWNER"


# --- userDeactivate --------------------------------------------------------------------------------------


async def test_deactivation_ends_the_users_sessions_at_once(team: Team, services: Services) -> None:
    # Given a member whose session is cached (they just read the viewer)
    assert "errors" not in await team.member.run(VIEWER)
    # When an admin deactivates them
    body = await team.admin.run(DEACTIVATE, {"input": {"id": _gid(team.member_id)}})
    payload = _payload(body, "userDeactivate")
    assert payload == {"user": {"id": _gid(team.member_id), "deactivated": True}, "errors": []}
    # Then their very next request is refused, and every session row of theirs is revoked
    response = await team.member.post(VIEWER)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    async with services.db.read() as conn:
        live = await conn.scalar(
            select(func.count()).where(
                AuthSession.user_id == team.member_id, AuthSession.revoked_at.is_(None)
            )
        )
    assert live == 0
    [event] = await _events(services, team.org.organization_id, "user.deactivated")
    assert (event.actor_id, event.payload["user_id"]) == (team.admin_id, team.member_id)


async def test_deactivation_refusals_change_nothing(
    team: Team, services: Services, make_org: MakeOrg
) -> None:
    other_org = await make_org()
    before = await _counts(services, team.org.organization_id)

    async def attempt(client: GraphQLClient, user_id: int) -> dict[str, Any]:
        return await client.run(DEACTIVATE, {"input": {"id": _gid(user_id)}})

    # A member may not; an admin may not touch the owner
    assert _forbidden(await attempt(team.member, team.other_id))
    assert _forbidden(await attempt(team.admin, team.owner_id))
    # Nobody deactivates themselves; another organization's user reads as missing
    yourself = _payload(await attempt(team.owner, team.owner_id), "userDeactivate")
    foreign = _payload(await attempt(team.owner, other_org.user_ids[3]), "userDeactivate")
    assert (_errors(yourself), _errors(foreign)) == ([("id", "INVALID")], [("id", "NOT_FOUND")])
    assert await _counts(services, team.org.organization_id) == before
    assert (await _user_row(services, other_org.user_ids[3])).deactivated_at is None


# --- userRoleChange ---------------------------------------------------------------------------------------


async def test_a_new_role_applies_to_the_users_next_request(team: Team, services: Services) -> None:
    # Given a member whose session (with the member role) is cached
    assert (await team.member.run(VIEWER))["data"]["viewer"]["user"]["role"] == "MEMBER"
    # When the owner makes them an admin
    payload = _payload(
        await team.owner.run(ROLE, {"input": {"id": _gid(team.member_id), "role": "ADMIN"}}), "userRoleChange"
    )
    assert payload == {"user": {"id": _gid(team.member_id), "role": "ADMIN"}, "errors": []}
    # Then their next request already acts as an admin: it may invite
    assert (await team.member.run(VIEWER))["data"]["viewer"]["user"]["role"] == "ADMIN"
    await _invite(team.member, f"by-new-admin-{team.org.organization_id}@x.test")
    [event] = await _events(services, team.org.organization_id, "user.role_changed")
    assert event.payload == {"user_id": team.member_id, "role": "admin"}


async def test_only_owners_touch_owners_and_the_last_owner_stays(team: Team, services: Services) -> None:
    before = await _counts(services, team.org.organization_id)
    # An admin may neither make an owner nor demote one
    assert _forbidden(await team.admin.run(ROLE, {"input": {"id": _gid(team.member_id), "role": "OWNER"}}))
    assert _forbidden(await team.admin.run(ROLE, {"input": {"id": _gid(team.owner_id), "role": "MEMBER"}}))
    # The only owner cannot step down
    alone = _payload(
        await team.owner.run(ROLE, {"input": {"id": _gid(team.owner_id), "role": "ADMIN"}}), "userRoleChange"
    )
    assert _errors(alone) == [("id", "CONFLICT")]
    assert await _counts(services, team.org.organization_id) == before
    assert (await _user_row(services, team.owner_id)).role == OrgRole.OWNER


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(team: Team, services: Services) -> None:
    # Given two owners, both signed in
    await team.owner.run(ROLE, {"input": {"id": _gid(team.admin_id), "role": "OWNER"}})
    # When each demotes the other at the same moment
    bodies = await asyncio.gather(
        team.owner.run(ROLE, {"input": {"id": _gid(team.admin_id), "role": "MEMBER"}}),
        team.admin.run(ROLE, {"input": {"id": _gid(team.owner_id), "role": "MEMBER"}}),
    )

    # Then one wins; the other is refused (demoted first, it is no owner any more, or the two met in
    # the database and the loser's retry found the last owner): the organization keeps an owner
    def won(body: dict[str, Any]) -> bool:
        return "errors" not in body and body["data"]["userRoleChange"]["errors"] == []

    assert sorted(won(body) for body in bodies) == [False, True]
    roles = {(await _user_row(services, uid)).role for uid in (team.owner_id, team.admin_id)}
    assert roles == {OrgRole.OWNER, OrgRole.MEMBER}


# --- userProfileUpdate, passwordChange ---------------------------------------------------------------------


async def test_a_new_name_shows_in_the_cached_viewer_at_once(team: Team, services: Services) -> None:
    # Given the member's session is cached; when they rename themselves
    assert "errors" not in await team.member.run(VIEWER)
    payload = _payload(
        await team.member.run(PROFILE, {"input": {"name": "  Renamed Member "}}), "userProfileUpdate"
    )
    # Then the payload and their next (cached) viewer read show the trimmed new name
    assert payload["user"]["name"] == "Renamed Member"
    assert (await team.member.run(VIEWER))["data"]["viewer"]["user"]["name"] == "Renamed Member"
    # And a blank name is INVALID and writes nothing
    before = await _counts(services, team.org.organization_id)
    empty = _payload(await team.member.run(PROFILE, {"input": {"name": " "}}), "userProfileUpdate")
    assert _errors(empty) == [("name", "INVALID")]
    assert await _counts(services, team.org.organization_id) == before


async def test_a_password_change_ends_the_other_sessions(
    gql: GraphQLClient, team: Team, services: Services
) -> None:
    # Given the member signed in twice (a second device)
    email = await _email(services, team.member_id)
    device = gql.as_user(await gql.login(email))
    hash_before = (await _user_row(services, team.member_id)).password_hash
    # When the wrong current password is given, nothing changes
    wrong = {"input": {"currentPassword": "not my password", "newPassword": NEW_PASSWORD}}
    assert _errors(_payload(await team.member.run(PASSWORD_CHANGE, wrong), "passwordChange")) == [
        ("currentPassword", "INVALID")
    ]
    assert (await _user_row(services, team.member_id)).password_hash == hash_before
    assert "errors" not in await device.run(VIEWER)
    # When the right one is given
    right = {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}}
    payload = _payload(await team.member.run(PASSWORD_CHANGE, right), "passwordChange")
    assert payload == {"user": {"id": _gid(team.member_id)}, "errors": []}
    # Then the other device is signed out at once, this one is not, and the new password works
    assert (await device.post(VIEWER)).status_code == 401
    assert "errors" not in await team.member.run(VIEWER)
    assert await gql.login(email, NEW_PASSWORD)
    assert len(await _events(services, team.org.organization_id, "user.password_changed")) == 1


# --- Idempotency-Key and the statement budget -------------------------------------------------------


async def test_a_replayed_deactivation_that_misses_redis_returns_the_first_answer(
    team: Team, services: Services
) -> None:
    # Given a deactivation made with an Idempotency-Key
    variables = {"input": {"id": _gid(team.other_id)}}
    first = (await team.admin.post(DEACTIVATE, variables, **{"idempotency-key": "off-once"})).json()
    before = await _counts(services, team.org.organization_id)
    # Redis lost the stored answer: the replay meets a user already deactivated, yet answers as before
    for key in await services.cache.redis.keys("idempotency:*"):
        await services.cache.redis.delete(key)
    replay = (await team.admin.post(DEACTIVATE, variables, **{"idempotency-key": "off-once"})).json()
    assert replay["data"] == first["data"]
    assert first["data"]["userDeactivate"]["errors"] == []
    assert await _counts(services, team.org.organization_id) == before


async def test_each_user_write_stays_within_four_statements_with_every_cache_cold(
    team: Team, services: Services
) -> None:
    # Given each signed-in user write, with an Idempotency-Key and every cache emptied before it
    tag = team.org.organization_id
    writes = [
        (INVITE, {"input": {"email": f"budget-{tag}@x.test", "role": "MEMBER"}}, team.owner),
        (ROLE, {"input": {"id": _gid(team.other_id), "role": "ADMIN"}}, team.owner),
        (DEACTIVATE, {"input": {"id": _gid(team.other_id)}}, team.owner),
        (PROFILE, {"input": {"name": "Budget Admin"}}, team.admin),
        (PASSWORD_CHANGE, {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}}, team.admin),
    ]
    for number, (mutation, variables, client) in enumerate(writes):
        await services.cache.redis.flushdb()
        # When it runs; then it succeeds in at most four statements, the session's read included
        response = await client.post(mutation, variables, **{"idempotency-key": f"user-budget-{number}"})
        body = response.json()
        assert "errors" not in body, body
        assert next(iter(body["data"].values()))["errors"] == [], body
        assert body["extensions"]["sqlStatements"] <= 4, (mutation, body)
