"""The load's population on a real MariaDB, at a small size: several organizations whose users are
mostly in one to five projects, and the owner-heavy organization apart."""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import select

from perf.load.population import OrganizationShape, Population, chosen, ensure_population
from perf.load.prepare import build_plan
from perf.load.token_clock import AccessToken
from perf.shared import config
from perf.shared.load_mix import OPERATIONS
from persistence.enums import OrgRole
from persistence.models import User
from persistence.seed import SeedSizes
from resolvers.context import Services
from tests.conftest import GraphQLClient

_STAFF = SeedSizes(users=40, projects=10, tasks=200, comments_per_task=0.0, members_per_project=6)
_OWNERS = SeedSizes(users=10, projects=4, tasks=80, comments_per_task=0.0, members_per_project=3)
SHAPES = (
    *(OrganizationShape(f"popt-{n}", _STAFF) for n in range(1, 4)),
    OrganizationShape("popt-owners", _OWNERS, owner_heavy=True),
)


def _organization(email: str) -> str:
    return email.split("@", 1)[1].split(".", 1)[0]


async def test_the_realistic_population_spreads_users_over_organizations_and_few_projects(
    services: Services,
) -> None:
    # Given the population seeded (a second call finds it in place)
    ids = await ensure_population(services, SHAPES)
    assert await ensure_population(services, SHAPES) == ids
    # When the realistic plan is built
    plan = await build_plan(services, chosen(ids, Population.REALISTIC))
    # Then its users are the three organizations' staff, taken in turn
    assert len(plan.users) == 3 * 40
    assert Counter(_organization(user.email) for user in plan.users) == {
        "popt-1": 40,
        "popt-2": 40,
        "popt-3": 40,
    }
    assert [_organization(user.email) for user in plan.users[:3]] == ["popt-1", "popt-2", "popt-3"]
    # And every user may write somewhere, most to 1-5 projects: only owners and admins edit all ten
    projects = [len(user.project_ids) for user in plan.users]
    assert min(projects) >= 1
    assert sum(1 <= n <= 5 for n in projects) / len(projects) >= 0.9
    assert sum(n == 10 for n in projects) <= 3 * 3 + 1
    # And the organizations' memberships differ (each seeded from a seed of its own)
    per_organization = [
        [len(u.project_ids) for u in plan.users if _organization(u.email) == f"popt-{n}"] for n in (1, 2)
    ]
    assert per_organization[0] != per_organization[1]
    # And no task is updated by two users
    assert len({user.own_task_id for user in plan.users}) == len(plan.users)


async def test_the_owner_heavy_organization_is_a_case_apart(services: Services) -> None:
    ids = await ensure_population(services, SHAPES)
    # When the owners' plan is built
    plan = await build_plan(services, chosen(ids, Population.OWNERS))
    # Then its users are the owner-heavy organization's alone, every one an owner writing everywhere
    assert {_organization(user.email) for user in plan.users} == {"popt-owners"}
    assert len(plan.users) == 10
    assert {len(user.project_ids) for user in plan.users} == {4}
    owners_org = ids[SHAPES[-1]]
    async with services.db.read() as conn:
        roles = (
            await conn.execute(
                select(User.__table__.c.role).where(User.__table__.c.organization_id == owners_org)
            )
        ).scalars()
        assert set(roles) == {OrgRole.OWNER}


async def test_the_load_s_login_and_refresh_documents_hand_a_client_a_renewable_token(
    services: Services, gql: GraphQLClient
) -> None:
    # Given a user of the load's population
    await ensure_population(services, SHAPES)
    # When it signs in and renews its token with the documents the virtual users send
    login = await gql.run(
        OPERATIONS["login"].body, {"input": {"email": SHAPES[0].owner_email, "password": config.PASSWORD}}
    )
    first = AccessToken.from_payload(login["data"]["authLogin"])
    refreshed = await gql.run(OPERATIONS["refresh"].body, {"input": {"refreshToken": first.refresh_token}})
    second = AccessToken.from_payload(refreshed["data"]["authRefresh"])
    # Then the expiry the client times its renewal by is the token's lifetime ahead, and the new token works
    lifetime = services.settings.access_token_ttl_seconds
    assert abs(first.expires_at - (time.time() + lifetime)) < 60
    assert not first.needs_refresh(time.time())
    assert second.refresh_token != first.refresh_token
    viewer = await gql.as_user(second.token).run("{ viewer { user { email } } }")
    assert viewer["data"]["viewer"]["user"]["email"] == SHAPES[0].owner_email
