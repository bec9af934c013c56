"""`python -m schema operator grant|revoke EMAIL`, run as an operator would: a real process against the
suite's database and Redis. The change reaches a signed-in session at once and is in the activity log."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from persistence.models import Event, User
from resolvers.context import Services
from tests import services as test_services
from tests.conftest import GraphQLClient
from tests.notification_crew import MakeOrg

ROOT = Path(__file__).resolve().parents[2]
REGISTER = (
    "mutation($i: TrustedDocumentsRegisterInput!) "
    "{ trustedDocumentsRegisterV2(input: $i) { registered errors { code } } }"
)


def _operator(*arguments: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    env |= {
        "TASKQL_ENVIRONMENT": "test",
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": test_services.REDIS_URL,
    }
    command = [sys.executable, "-m", "schema", "operator", *arguments]
    return subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def _registers_documents(gql: GraphQLClient) -> bool:
    """Whether the token's user may register a trusted document (operators only: FORBIDDEN else)."""
    manifest = {f"op-{uuid.uuid4()}": f"# {uuid.uuid4()}\n{{ viewer {{ user {{ id }} }} }}"}
    body: dict[str, Any] = await gql.run(REGISTER, {"i": {"clientName": "ops", "manifest": manifest}})
    if body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        return False
    return bool(body["data"]["trustedDocumentsRegisterV2"]["registered"] == 1)


async def _state(services: Services, user_id: int) -> tuple[bool, list[tuple[str, int | None, Any]]]:
    """The user's flag and the operator events of their organization: (type, actor, payload)."""
    async with services.db.read() as conn:
        user = (
            await conn.execute(select(User.is_operator, User.organization_id).where(User.id == user_id))
        ).one()
        events = await conn.execute(
            select(Event.type, Event.actor_id, Event.payload)
            .where(Event.organization_id == user.organization_id, Event.type.like("user.operator_%"))
            .order_by(Event.id)
        )
        return bool(user.is_operator), [tuple(row) for row in events]


async def test_grant_and_revoke_reach_a_signed_in_session_and_the_activity_log(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given a signed-in user (their session cached) who is no operator
    org = await make_org()
    user_id = org.user_ids[0]
    signed_in = gql.as_user(await gql.login(org.owner_email))
    assert not await _registers_documents(signed_in)
    # When the command grants them the operator flag, twice (the email as typed, any case)
    granted = _operator("grant", org.owner_email.upper())
    again = _operator("grant", org.owner_email)
    # Then the first grants it, the second says nothing changed, both with status 0
    assert (granted.returncode, granted.stdout.strip()) == (
        0,
        f"{org.owner_email.upper()} is now an operator",
    )
    assert (again.returncode, again.stdout.strip()) == (
        0,
        f"{org.owner_email} is already an operator; nothing changed",
    )
    # And the same session may now do what operators do, and one event records the grant
    assert await _registers_documents(signed_in)
    granted_event = ("user.operator_granted", None, {"user_id": user_id})
    assert await _state(services, user_id) == (True, [granted_event])
    # When it is revoked, twice
    revoked = _operator("revoke", org.owner_email)
    not_one = _operator("revoke", org.owner_email)
    # Then the session loses it at once, and the log holds both changes
    assert (revoked.returncode, revoked.stdout.strip()) == (0, f"{org.owner_email} is no longer an operator")
    assert (not_one.returncode, not_one.stdout.strip()) == (
        0,
        f"{org.owner_email} is not an operator; nothing changed",
    )
    assert not await _registers_documents(signed_in)
    revoked_event = ("user.operator_revoked", None, {"user_id": user_id})
    assert await _state(services, user_id) == (False, [granted_event, revoked_event])


def test_an_unknown_email_is_one_line_and_status_1(database: str) -> None:
    ran = _operator("grant", "nobody-at-all@taskql.dev")
    assert (ran.returncode, ran.stdout, ran.stderr) == (
        1,
        "",
        "taskql: no user has the email nobody-at-all@taskql.dev\n",
    )
