"""The proof that both engines give the same answers: every read document of the suite, every trusted
document of perf/ and seeded random queries from the schema run through both engines over the same
data, as the owner and as a member who sees some projects only, on MariaDB and on the embedded
default's SQLite. Answers must be equal (data, errors by message, path and code, and the cost charged).

The compiled engine must also be the one that ran them: every feature of coverage.REQUIRED in some
random query it ran, and at least 90 % of the random queries, so a compiler that falls back everywhere
cannot pass. Each group is a test of its own (``-k suite``, ``perf``, ``owner``, ``member``,
``sqlite``); ``-s`` prints each group's coverage: what the documents that fell back asked for.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, parse
from sqlalchemy import select

from persistence.enums import OrgRole
from persistence.models import User
from persistence.seed import SeededOrganization, SeedSizes, seed_organization
from resolvers.context import Services
from schema.build import build_schema
from schema.core.ids import encode_id
from tests.conftest import PASSWORD, GraphQLClient, embedded_services
from tests.engine.coverage import REQUIRED, Tally, answer_features, document_features
from tests.engine.differential import Engines, member_with_some_projects
from tests.engine.generator import QueryGenerator
from tests.engine.harvest import ReadDocument, perf_documents, suite_documents
from tests.engine.pool import Choices, Pool, load_pool
from tests.engine.variables import VariableFiller

MakeOrg = Callable[[SeedSizes], Awaitable[SeededOrganization]]

# Large enough for pages, nested pages and filters to matter; small enough to seed in a second.
SIZES = SeedSizes(users=10, projects=4, tasks=48, comments_per_task=2.5, members_per_project=5)
RANDOM_AS_OWNER = 500
RANDOM_AS_MEMBER = 100
RANDOM_ON_SQLITE = 120
COMPILED_SHARE = 0.9
# SQLite's parser refuses a statement nested past its depth, and the compiler then hands the document
# to the resolvers (schema/engine/compiler/operations.py, `_parses_on_sqlite`): the deepest random
# documents do, more of them since every type with an id is a Node that `node`/`nodes` can nest. That
# share measures the documents' depth, not what the compiler covers, which MariaDB's bar judges.
COMPILED_SHARE_ON_SQLITE = 0.85
SHOWN_DIFFERENCES = 8
# The required features a document shows (the others are in answers: errors, null roots).
WANTED = frozenset(f for f in REQUIRED if not f.startswith("error:") and f != "null root")


@cache
def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


@dataclass
class World:
    """One seeded organization, both engines as its owner and as a member, and what documents name."""

    services: Services
    org: SeededOrganization
    pool: Pool
    owner: Engines
    member: Engines


@dataclass
class Run:
    """One group's documents through both engines: the coverage and the answers that differ."""

    tally: Tally = field(default_factory=Tally)
    differences: list[str] = field(default_factory=list)

    async def document(self, engines: Engines, origin: str, text: str, variables: dict[str, Any]) -> None:
        outcome = await engines.compare(text, variables)
        features = document_features(graphql_schema(), parse(text), variables)
        self.tally.add(features | answer_features(outcome.ours), outcome.compiled)
        difference = outcome.difference
        if difference is not None:
            engine = "compiled" if outcome.compiled else "resolvers both times"
            self.differences.append(f"{origin} ({engine}): {difference}\n  {text}\n  variables: {variables}")

    def problems(
        self, title: str, *, share: bool = False, required: bool = False, bar: float = COMPILED_SHARE
    ) -> list[str]:
        """What fails the group: answers that differ, and for random queries a compiled share under
        ``bar`` (``share``) or required features never compiled (``required``)."""
        print(f"\n{self.tally.summary(title, required=required)}")
        found = []
        for difference in self.differences:
            print(f"  differs: {difference}")
        if self.differences:
            shown = "\n".join(self.differences[:SHOWN_DIFFERENCES])
            found.append(f"{len(self.differences)} documents answered differently:\n{shown}")
        if share and self.tally.share < bar:
            found.append(f"{self.tally.share:.1%} of the random queries compiled, not {bar:.0%}")
        if required and (missing := self.tally.missing()):
            found.append(f"never ran compiled: {', '.join(missing)}")
        return found


async def _enrich(owner: GraphQLClient, org: SeededOrganization, keep: int) -> None:
    """Writes that give the lists more to page: a few tasks' activity and comments, an archived project,
    a deactivated user (not ``keep``, the member whose view is compared)."""
    for task in org.task_ids[:6]:
        task_id = encode_id("Task", task)
        version = (await owner.run("query($id: ID!) { task(id: $id) { version } }", {"id": task_id}))["data"]
        number = version["task"]["version"]
        for title in ("Renamed once", "Renamed twice"):
            update = "mutation($i: TaskUpdateInput!) { taskUpdate(input: $i) { errors { code } } }"
            answer = await owner.run(update, {"i": {"id": task_id, "version": number, "title": title}})
            assert answer["data"]["taskUpdate"]["errors"] == [], answer
            number += 1
        comment = "mutation($i: CommentCreateInput!) { commentCreate(input: $i) { errors { code } } }"
        answer = await owner.run(comment, {"i": {"taskId": task_id, "body": "A later word on it."}})
        assert answer["data"]["commentCreate"]["errors"] == [], answer
    archive = "mutation($i: ProjectArchiveInput!) { projectArchive(input: $i) { errors { code } } }"
    archived = {"id": encode_id("Project", org.project_ids[-1]), "archived": True}
    assert (await owner.run(archive, {"i": archived}))["data"]["projectArchive"]["errors"] == []
    deactivate = "mutation($i: UserDeactivateInput!) { userDeactivate(input: $i) { errors { code } } }"
    gone = next(u for u in reversed(org.user_ids[3:]) if u != keep)
    answer = await owner.run(deactivate, {"i": {"id": encode_id("User", gone)}})
    assert answer["data"]["userDeactivate"]["errors"] == [], answer


async def _world(services: Services, org: SeededOrganization) -> World:
    both = Engines.over(services)
    owner = await both.as_user(services, org.user_ids[0], PASSWORD)
    member_id = await member_with_some_projects(services, org)
    await _enrich(owner.resolvers, org, keep=member_id)
    async with services.db.read() as conn:
        role = (await conn.execute(select(User.role).where(User.id == member_id))).scalar_one()
    assert role == OrgRole.MEMBER
    member = await both.as_user(services, member_id, PASSWORD)
    return World(services, org, await load_pool(services, org, owner.resolvers), owner, member)


@pytest.fixture(scope="module")
async def world(services: Services, make_org_module: MakeOrg) -> AsyncIterator[World]:
    made = await _world(services, await make_org_module(SIZES))
    yield made
    await made.owner.close()


@pytest.fixture(scope="module")
async def embedded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """The embedded default: SQLite and the in-process Redis, the same seed."""
    path: Path = tmp_path_factory.mktemp("differential") / "embedded.db"
    async with embedded_services(path, "embedded") as services:
        org = await seed_organization(
            services.db,
            services.passwords,
            SIZES,
            slug="differential",
            owner_email="owner@differential.test",
            password=PASSWORD,
            rng_seed=11,
        )
        made = await _world(services, org)
        yield made
        await made.owner.close()


def _filled(
    world: World, documents: Iterable[ReadDocument], seed: int
) -> list[tuple[str, str, dict[str, Any]]]:
    filler = VariableFiller(graphql_schema(), Choices(world.pool, random.Random(seed)))  # noqa: S311 - seeded
    return [(d.origin, d.text, filler.fill(parse(d.text))) for d in documents]


def _random(world: World, count: int, seed: int) -> list[tuple[str, str, dict[str, Any]]]:
    """``count`` random queries, then more (kept only when they add one) until every required feature
    a document can show is in some query: so a compiler that covers them all can pass at any seed."""
    generator = QueryGenerator(graphql_schema(), Choices(world.pool, random.Random(seed)))  # noqa: S311
    made: list[tuple[str, str, dict[str, Any]]] = []
    seen: set[str] = set()
    for n in itertools.count():
        text, variables = generator.document()
        features = document_features(graphql_schema(), parse(text), variables)
        if n < count or features & (WANTED - seen):
            made.append((f"random #{n} (seed {seed})", text, variables))
            seen |= features
        if n >= count and seen >= WANTED:
            return made
        # Generating is cheap (only the queries kept run): room for rare features at any seed.
        assert n < count * 20, f"no random query shows {sorted(WANTED - seen)}"
    raise AssertionError("unreachable")


async def _run(
    groups: Iterable[tuple[Engines, list[tuple[str, str, dict[str, Any]]]]],
) -> Run:
    run = Run()
    for engines, documents in groups:
        for origin, text, variables in documents:
            await run.document(engines, origin, text, variables)
    return run


async def test_the_suites_read_documents_agree(world: World) -> None:
    harvest = suite_documents(graphql_schema())
    print(f"\nsuite: {len(harvest.documents)} read documents; skipped: {dict(harvest.skipped)}")
    assert len(harvest.documents) > 100
    documents = harvest.documents
    run = await _run(
        [(world.owner, _filled(world, documents, 1)), (world.member, _filled(world, documents, 2))]
    )
    problems = run.problems(
        "suite documents, as the owner and as a member",
    )
    assert not problems, "\n".join(problems)


async def test_perfs_trusted_documents_agree(world: World) -> None:
    harvest = perf_documents(graphql_schema())
    assert len(harvest.documents) >= 8
    groups = [
        (engines, _filled(world, harvest.documents * 2, seed))
        for seed, engines in enumerate((world.owner, world.member))
    ]
    problems = (await _run(groups)).problems(
        "perf documents",
    )
    assert not problems, "\n".join(problems)


async def test_random_queries_agree_as_the_owner(world: World) -> None:
    run = await _run([(world.owner, _random(world, RANDOM_AS_OWNER, seed=20261207))])
    problems = run.problems("random queries as the owner", share=True, required=True)
    assert not problems, "\n".join(problems)


async def test_random_queries_agree_as_a_member(world: World) -> None:
    run = await _run([(world.member, _random(world, RANDOM_AS_MEMBER, seed=20261208))])
    problems = run.problems("random queries as a member", share=True)
    assert not problems, "\n".join(problems)


async def test_everything_agrees_on_sqlite(embedded: World) -> None:
    suite = suite_documents(graphql_schema()).documents
    perf = perf_documents(graphql_schema()).documents
    documents = await _run([(embedded.owner, _filled(embedded, [*suite, *perf], 3))])
    random_queries = await _run(
        [
            (embedded.owner, _random(embedded, RANDOM_ON_SQLITE, seed=7)),
            (embedded.member, _random(embedded, RANDOM_ON_SQLITE // 4, seed=8)),
        ]
    )
    problems = documents.problems("sqlite: suite and perf documents as the owner")
    problems += random_queries.problems(
        "sqlite: random queries", share=True, required=True, bar=COMPILED_SHARE_ON_SQLITE
    )
    assert not problems, "\n".join(problems)
