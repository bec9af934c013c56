"""The drill's world: the schema migrated, then one organization with its owner and one project (a
handful of tasks, so the project's event history a subscriber replays from the start stays short)."""

from __future__ import annotations

import httpx

from perf.shared.config import BenchEnvironment
from persistence.migrate import upgrade_to_head
from persistence.seed import SeedSizes, seed_organization
from schema.app import build_services
from schema.core.ids import encode_id

SIZES = SeedSizes(users=3, projects=1, tasks=5, comments_per_task=0.0, members_per_project=2)
OWNER_EMAIL = "owner@chaos.taskql.dev"
# Generated data on a private loopback server, nothing real behind it.
PASSWORD = "chaos-password-not-a-secret"  # noqa: S105
LOGIN = "mutation($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }"


async def migrate_and_seed(variables: dict[str, str]) -> str:
    """The project's global id, once the schema is migrated and the organization seeded."""
    services = build_services(BenchEnvironment(variables).settings())
    try:
        await upgrade_to_head(services.db.engine)
        seeded = await seed_organization(
            services.db, services.passwords, SIZES, slug="chaos", owner_email=OWNER_EMAIL, password=PASSWORD
        )
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()
    [project_id] = seeded.project_ids
    return encode_id("Project", project_id)


async def login(base_url: str) -> str:
    """The owner's access token, from the server under test (signed with its secret)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post(
            "/graphql", json={"query": LOGIN, "variables": {"e": OWNER_EMAIL, "p": PASSWORD}}
        )
    response.raise_for_status()
    token: str = response.json()["data"]["authLogin"]["accessToken"]
    return token
