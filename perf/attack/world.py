"""The attack bench's world: its database and Redis index, its documents, and every principal.

- The data set of ``make bench`` (perf/shared/dataset.py) in a database of its own, seeded once.
- The client's documents registered as trusted (perf/attack/documents.py), as ``make documents``
  does: all or none, and again on every run (registering the same manifest twice is a no-op).
- Normal users: ``users`` seeded members, each logged in for real once (their own session, so their
  own cost bucket), each with a project and a task they can see to put in their variables.
- Attackers, each a principal of its own: an admin sending the most expensive admitted operation
  (an admin sees every project, so the answer is as large as its price and little is refunded), a
  platform operator (the one principal whose free text reaches parsing and the limits under
  ``enforce``; everyone else's is refused first), a member over the cost limit, anonymous login
  guesses, and a read-only API key of the owner's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from perf.attack import documents
from perf.shared import config
from perf.shared.dataset import ensure_database, ensure_seeded
from persistence.enums import ApiKeyScope, OrgRole
from persistence.models import ProjectMember, Task, User
from persistence.settings import Settings
from resolvers.api_keys import create_api_key
from resolvers.auth import login
from resolvers.context import RequestContext, Services
from resolvers.trusted_documents import register_documents
from schema.app import build_services
from schema.build import build_schema
from schema.core.ids import encode_id
from schema.guard.registration import preparer

DATABASE_NAME = "taskql_bench_attack"
# A Redis index of its own: flushed at the start of every run (budgets and login counts start afresh).
REDIS_URL = "redis://127.0.0.1:6379/9"
PORT = 18461
# Fixed seeded accounts for the attackers (perf/shared/config.py's data set: user1 and user2 are admins).
EXPENSIVE_EMAIL = f"user1@{config.ORG_SLUG}.taskql.dev"
OPERATOR_EMAIL = f"user2@{config.ORG_SLUG}.taskql.dev"
OVER_LIMIT_EMAIL = f"user3@{config.ORG_SLUG}.taskql.dev"
GUESSED_EMAIL = f"user4@{config.ORG_SLUG}.taskql.dev"
ATTACKER_EMAILS = (EXPENSIVE_EMAIL, OPERATOR_EMAIL, OVER_LIMIT_EMAIL, GUESSED_EMAIL)
PAGE = 10  # the normal load's page size: what a screen shows


@dataclass(frozen=True)
class NormalUser:
    email: str
    token: str
    # (document id, variables) the user cycles through.
    requests: list[tuple[str, dict[str, object]]]


@dataclass(frozen=True)
class Attackers:
    expensive_token: str
    expensive_variables: dict[str, int]
    expensive_cost: int
    operator_token: str
    over_limit_token: str
    guessed_email: str
    api_key: str
    max_page_size: int


@dataclass(frozen=True)
class World:
    users: list[NormalUser]
    attackers: Attackers
    registered: int  # documents new to the registry in this run
    # The mean price charged up front for a normal request (refunded down to what it answered).
    normal_cost: float


def environment() -> config.BenchEnvironment:
    """Production settings (enforce, default limits and budgets) on the bench's own database and Redis."""
    # The other benches' unbounded buckets and free-text documents are exactly what this one measures.
    unprotected = ("TASKQL_COST_BUCKET_CAPACITY", "TASKQL_COST_RESTORE_RATE", "TASKQL_TRUSTED_DOCUMENTS")
    base = {k: v for k, v in config.BenchEnvironment.create().variables.items() if k not in unprotected}
    return config.BenchEnvironment(
        {
            **base,
            "TASKQL_DATABASE_URL": f"{config.MARIADB_SERVER_URL}/{DATABASE_NAME}",
            "TASKQL_REDIS_URL": REDIS_URL,
        }
    )


async def _normal_members(services: Services, organization_id: int, count: int) -> list[tuple[str, int, int]]:
    """(email, a project of theirs, a task of that project) for the first ``count`` members by id
    who belong to a project, the attackers' accounts left out."""
    first_project = (
        select(ProjectMember.user_id, func.min(ProjectMember.project_id).label("project_id"))
        .group_by(ProjectMember.user_id)
        .subquery()
    )
    async with services.db.read() as conn:
        rows = (
            await conn.execute(
                select(User.email, first_project.c.project_id)
                .join(first_project, first_project.c.user_id == User.id)
                .where(
                    User.organization_id == organization_id,
                    User.role == OrgRole.MEMBER,
                    User.email.not_in(ATTACKER_EMAILS),
                )
                .order_by(User.id)
                .limit(count)
            )
        ).all()
        chosen = []
        for email, project_id in rows:
            task_id = await conn.scalar(
                select(func.min(Task.id)).where(Task.project_id == project_id, Task.deleted_at.is_(None))
            )
            if task_id is not None:
                chosen.append((str(email), int(project_id), int(task_id)))
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} members have a project with tasks; asked for {count}")
    return chosen


def _requests(user_id: int, project_id: int, task_id: int) -> list[tuple[str, dict[str, object]]]:
    """The screens a user moves between: board, task, dashboard, notifications, their own page."""
    return [
        ("board", {"projectId": encode_id("Project", project_id), "first": PAGE}),
        ("task_detail", {"taskId": encode_id("Task", task_id), "first": PAGE}),
        ("dashboard", {"first": PAGE}),
        ("notifications", {"first": PAGE}),
        ("user_page", {"userId": encode_id("User", user_id), "first": PAGE}),
    ]


async def _sign_in(services: Services, email: str) -> tuple[str, int]:
    """A real login (argon2, session row, JWT): the token and the user's id."""
    auth = await login(RequestContext(services), email=email, password=config.PASSWORD)
    return auth.access_token, auth.principal.user_id


async def _normal_users(services: Services, organization_id: int, count: int) -> list[NormalUser]:
    users = []
    for email, project_id, task_id in await _normal_members(services, organization_id, count):
        token, user_id = await _sign_in(services, email)
        users.append(NormalUser(email, token, _requests(user_id, project_id, task_id)))
    return users


async def _attackers(services: Services, settings: Settings) -> Attackers:
    async with services.db.unit_of_work() as conn:
        # Idempotent: the account stays an operator between runs.
        await conn.execute(update(User).where(User.email == OPERATOR_EMAIL).values(is_operator=True))
    owner = await login(RequestContext(services), email=config.OWNER_EMAIL, password=config.PASSWORD)
    key = await create_api_key(
        RequestContext(services, principal=owner.principal),
        name="attack bench",
        scope=ApiKeyScope.READ,
        expires_at=None,
    )
    variables, cost = documents.max_admitted_variables(build_schema()._schema, settings)
    return Attackers(
        expensive_token=(await _sign_in(services, EXPENSIVE_EMAIL))[0],
        expensive_variables=variables,
        expensive_cost=cost,
        operator_token=(await _sign_in(services, OPERATOR_EMAIL))[0],
        over_limit_token=(await _sign_in(services, OVER_LIMIT_EMAIL))[0],
        guessed_email=GUESSED_EMAIL,
        api_key=key.key,
        max_page_size=settings.max_page_size,
    )


async def prepare(env: config.BenchEnvironment, users: int) -> World:
    """Database, seed, trusted documents and principals; Redis must have been flushed before."""
    settings = env.settings()
    await ensure_database(DATABASE_NAME)
    services = build_services(settings)
    try:
        organization_id = await ensure_seeded(services)
        registered = await register_documents(
            services.db,
            documents.manifest(),
            client_name=documents.CLIENT_NAME,
            prepare=preparer(build_schema()._schema, settings),
        )
        normal = await _normal_users(services, organization_id, users)
        attackers = await _attackers(services, settings)
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()
    return World(normal, attackers, registered.registered, _mean_cost(normal, settings))


def _mean_cost(users: list[NormalUser], settings: Settings) -> float:
    schema = build_schema()._schema
    costs = [
        documents.requested_cost(schema, settings, document_id, variables)
        for user in users
        for document_id, variables in user.requests
    ]
    return sum(costs) / len(costs)
