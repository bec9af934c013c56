"""Runs documents through both engines (two apps over the same services) and compares the answers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from persistence.enums import OrgRole
from persistence.metrics import GRAPHQL_ENGINE_OPERATIONS
from persistence.models import ProjectMember, User
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.app import create_app
from tests.conftest import GraphQLClient


async def member_with_some_projects(services: Services, org: SeededOrganization) -> int:
    """A member of the organization in some of its projects but not all (tenancy to compare)."""
    members = ProjectMember.__table__
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(User.id, func.count(members.c.project_id))
            .join(members, members.c.user_id == User.id)
            .where(User.id.in_(org.user_ids), User.role == OrgRole.MEMBER)
            .group_by(User.id)
            .order_by(User.id)
        )
        counts: dict[int, int] = {user: count for user, count in rows.all()}
    return next(user for user, count in counts.items() if 0 < count < len(org.project_ids))


def compiled_count() -> float:
    # The counter's own samples: the registry's lookup would collect every metric of the process.
    for metric in GRAPHQL_ENGINE_OPERATIONS.collect():
        for sample in metric.samples:
            if sample.name == "graphql_engine_operations_total" and sample.labels == {"engine": "compiled"}:
                return sample.value
    return 0.0


def _client(services: Services, engine: str) -> GraphQLClient:
    # Room for a few hundred documents of up to 50 tasks each: the budget is not what is compared.
    roomy = {"cost_limit_per_operation": 1_000_000, "cost_bucket_capacity": 1_000_000}
    settings = services.settings.model_copy(update={"execution_engine": engine, **roomy})
    app = create_app(services=replace(services, settings=settings))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return GraphQLClient(httpx.AsyncClient(transport=transport, base_url="http://taskql.test"))


@dataclass
class Engines:
    compiled: GraphQLClient
    resolvers: GraphQLClient

    @classmethod
    def over(cls, services: Services) -> Engines:
        return cls(_client(services, "compiled"), _client(services, "resolvers"))

    async def close(self) -> None:
        await self.compiled.http.aclose()
        await self.resolvers.http.aclose()

    async def as_user(self, services: Services, user_id: int, password: str) -> Engines:
        async with services.db.read() as conn:
            email = (await conn.execute(select(User.email).where(User.id == user_id))).scalar_one()
        token = await self.resolvers.login(email, password)
        return Engines(self.compiled.as_user(token), self.resolvers.as_user(token))

    async def same(
        self, query: str, variables: dict[str, Any] | None = None, *, compiled: bool = True
    ) -> dict[str, Any]:
        """Both engines' answers, equal but for the extensions; ``compiled``: the compiler ran it."""
        before = compiled_count()
        theirs = await self.resolvers.run(query, variables)
        ours = await self.compiled.run(query, variables)
        assert compiled_count() - before == (1 if compiled else 0), (query, ours)
        # The same price: the actual cost walks the compiled answer's objects and scalars too.
        our_cost = ours.pop("extensions", {}).get("cost", {})
        their_cost = theirs.pop("extensions", {}).get("cost", {})
        assert [our_cost.get(k) for k in ("requested", "actual")] == [
            their_cost.get(k) for k in ("requested", "actual")
        ], (query, our_cost, their_cost, first_difference(ours, theirs))
        assert ours == theirs, (query, first_difference(ours, theirs))
        return ours

    async def compare(self, query: str, variables: dict[str, Any] | None = None) -> Outcome:
        """Both engines' answers, whichever engine ran it (``same`` asserts; this reports)."""
        before = compiled_count()
        theirs = await self.resolvers.run(query, variables)
        ours = await self.compiled.run(query, variables)
        return Outcome(compiled_count() - before == 1, ours, theirs)


def _comparable(answer: dict[str, Any]) -> tuple[Any, ...]:
    """An answer as it is compared: its data, its errors by message, path and code (in any order), and
    the requested and actual cost it was charged."""
    errors = sorted(
        orjson.dumps([e.get("message"), e.get("path"), e.get("extensions", {}).get("code")]).decode()
        for e in answer.get("errors") or ()
    )
    cost = answer.get("extensions", {}).get("cost", {})
    return answer.get("data"), errors, [cost.get("requested"), cost.get("actual")]


@dataclass(frozen=True)
class Outcome:
    compiled: bool  # the compiled engine ran it (else the resolvers did, for both)
    ours: dict[str, Any]  # the compiled engine's answer
    theirs: dict[str, Any]  # the resolvers'

    @property
    def difference(self) -> str | None:
        """Where the answers part (data, errors or cost), or None when they agree."""
        ours, theirs = _comparable(self.ours), _comparable(self.theirs)
        for part, a, b in zip(("data", "errors", "cost"), ours, theirs, strict=True):
            if a != b:
                # The errors tell why a value is missing on one side.
                errors = f"errors: compiled {ours[1]}, resolvers {theirs[1]}" if ours[1] or theirs[1] else ""
                return f"{part}: {first_difference(a, b)} {errors}".strip()
        return None


def first_difference(ours: Any, theirs: Any, path: str = "") -> str:
    """Where two answers part (for a failure's message)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs)):
            if ours.get(key) != theirs.get(key):
                return first_difference(ours.get(key), theirs.get(key), f"{path}.{key}")
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if a != b:
                return first_difference(a, b, f"{path}[{i}]")
    return f"{path}: compiled {ours!r}, resolvers {theirs!r}"
