"""trustedDocumentsRegister is for platform operators only, and the repository's own operations
(perf/operations/*.graphql) stay registrable: each still validates against the live schema."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from persistence.enums import OrgRole
from persistence.models import TrustedDocument, User
from persistence.seed import SeededOrganization
from resolvers.context import Services
from resolvers.errors import BadUserInput
from resolvers.trusted_documents import APOLLO_FORMAT, parse_manifest, register_documents
from schema.build import build_schema
from schema.guard.registration import preparer
from tests.conftest import PASSWORD, GraphQLClient
from tests.notification_crew import MakeOrg

OPERATIONS = Path(__file__).resolve().parents[2] / "perf" / "operations"
REGISTER = (
    "mutation($i: TrustedDocumentsRegisterInput!) { trustedDocumentsRegister(input: $i) "
    "{ registered unchanged documents { id documentId sha256 name clientName operationType cost } } }"
)


def repository_manifest() -> dict[str, Any]:
    """An Apollo manifest of every operation the repository ships, by file name."""
    operations = [
        {"id": f"perf-{path.stem}", "name": None, "type": "query", "body": path.read_text()}
        for path in sorted(OPERATIONS.glob("*.graphql"))
    ]
    return {"format": APOLLO_FORMAT, "version": 1, "operations": operations}


async def _count(services: Services) -> int:
    async with services.db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(TrustedDocument)) or 0)


async def _signed_in(
    services: Services, gql: GraphQLClient, org: SeededOrganization, *, operator: bool
) -> Any:
    email = f"{uuid.uuid4().hex[:12]}@ops.test"
    async with services.db.unit_of_work() as conn:
        values = dict(
            organization_id=org.organization_id,
            email=email,
            name="Ops",
            password_hash=await services.passwords.hash(PASSWORD),
            role=OrgRole.OWNER,
            is_operator=operator,
        )
        await conn.execute(insert(User).values(**values))
    return gql.as_user(await gql.login(email))


async def test_every_repository_operation_validates_against_the_schema(services: Services) -> None:
    # Given the repository's operations as a manifest
    manifest = repository_manifest()
    assert len(manifest["operations"]) >= 6
    prepare = preparer(build_schema()._schema, services.settings)
    # When it is registered
    result = await register_documents(
        services.db, parse_manifest(manifest), client_name="perf", prepare=prepare
    )
    # Then every one of them is a registered query with a cost
    assert result.registered + result.unchanged == len(manifest["operations"])
    assert {d.operation_type for d in result.documents} == {"query"}
    assert all(d.cost > 0 for d in result.documents)


async def test_an_operation_that_stops_validating_fails_the_manifest(services: Services) -> None:
    # Given the repository's manifest with one operation naming a field the schema does not have
    manifest = repository_manifest()
    broken = manifest["operations"][0]
    broken["id"] = f"perf-broken-{uuid.uuid4()}"
    broken["body"] = broken["body"].replace("{", "{ noSuchField ", 2)
    prepare = preparer(build_schema()._schema, services.settings)
    before = await _count(services)
    # When it is registered, then the whole manifest is refused, naming the broken one
    with pytest.raises(BadUserInput, match="noSuchField") as refused:
        await register_documents(services.db, parse_manifest(manifest), client_name="perf", prepare=prepare)
    assert broken["id"] in refused.value.message
    assert await _count(services) == before


async def test_an_operator_registers_a_manifest(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given a platform operator
    operator = await _signed_in(services, gql, await make_org(), operator=True)
    document_id = f"web-{uuid.uuid4()}"
    body = f"# {uuid.uuid4()}\nquery Me {{ viewer {{ user {{ id }} }} }}"
    # When they register a Relay map
    sent = {"i": {"clientName": "web", "manifest": {document_id: body}}}
    first = await operator.run(REGISTER, sent)
    again = await operator.run(REGISTER, sent)
    # Then it is stored once and described
    payload = first["data"]["trustedDocumentsRegister"]
    assert (payload["registered"], payload["unchanged"]) == (1, 0)
    [document] = payload["documents"]
    assert (document["documentId"], document["name"], document["clientName"], document["operationType"]) == (
        document_id,
        "Me",
        "web",
        "query",
    )
    assert len(document["sha256"]) == 64
    assert document["cost"] > 0
    assert again["data"]["trustedDocumentsRegister"]["unchanged"] == 1


async def test_registration_reports_each_operations_engine(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given an operator and documents: a list the compiler covers (even under a condition), a query
    # selecting a field it does not cover, one the session answers, and a mutation
    operator = await _signed_in(services, gql, await make_org(), operator=True)
    tag = uuid.uuid4().hex
    bodies = {
        f"list-{tag}": f"# {tag}\nquery L($c: Boolean!) "
        "{ tasks(first: 2) { nodes { id labels @include(if: $c) { name } } } }",
        f"hooks-{tag}": f"# {tag}\nquery H {{ webhooks {{ id }} }}",
        f"write-{tag}": f"# {tag}\nmutation W {{ authLogout {{ ok }} }}",
        f"me-{tag}": f"# {tag}\nquery M {{ viewer {{ user {{ name }} organization {{ slug }} }} }}",
    }
    register = REGISTER.replace("cost }", "cost engine uncoveredField }")
    # When they are registered
    answer = await operator.run(register, {"i": {"clientName": "web", "manifest": bodies}})
    # Then each document says which engine runs it, and why not the compiled one
    documents = answer["data"]["trustedDocumentsRegister"]["documents"]
    engines = {d["documentId"].split("-")[0]: (d["engine"], d["uncoveredField"]) for d in documents}
    assert engines == {
        "list": ("compiled", None),
        "hooks": ("resolvers", "Query.webhooks"),
        "write": ("resolvers", "a mutation"),
        "me": ("resolvers", "the viewer's own user and organization (the session answers them)"),
    }


async def test_a_bad_manifest_is_bad_user_input(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    operator = await _signed_in(services, gql, await make_org(), operator=True)
    before = await _count(services)
    body = await operator.run(REGISTER, {"i": {"clientName": "web", "manifest": ["not", "a", "manifest"]}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await _count(services) == before


async def test_anyone_else_is_forbidden_and_nothing_is_stored(
    services: Services, gql: GraphQLClient, make_org: MakeOrg
) -> None:
    # Given an organization owner who is no operator
    owner = await _signed_in(services, gql, await make_org(), operator=False)
    before = await _count(services)
    # When they register a manifest
    manifest = {f"web-{uuid.uuid4()}": f"# {uuid.uuid4()}\n{{ organization {{ id }} }}"}
    body = await owner.run(REGISTER, {"i": {"clientName": "web", "manifest": manifest}})
    # Then it is FORBIDDEN and nothing is stored
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None
    assert await _count(services) == before
