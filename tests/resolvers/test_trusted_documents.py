"""Registering trusted documents: both manifest formats, all or none, immutable ids, the per-process
registry learning of documents another process registered, and the command line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.db import Database
from persistence.models import TrustedDocument as TrustedDocumentRow
from persistence.statements import count_statements
from resolvers.context import Services
from resolvers.errors import BadUserInput
from resolvers.trusted_documents import (
    APOLLO_FORMAT,
    ManifestOperation,
    TrustedDocuments,
    parse_manifest,
    register_documents,
    sha256_of,
)
from schema.build import build_schema
from schema.guard.registration import preparer
from tests import services as test_services

ROOT = Path(__file__).resolve().parents[2]
_rows = TrustedDocumentRow.__table__


def _body(text: str = "{ viewer { user { id name } } }") -> str:
    """A body no other test registers (hashes are unique across documents)."""
    return f"# {uuid.uuid4()}\n{text}"


def _id() -> str:
    return f"doc-{uuid.uuid4()}"


@pytest.fixture(scope="module")
def prepare(services: Services) -> Any:
    return preparer(build_schema()._schema, services.settings)


async def _count(services: Services) -> int:
    async with services.db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(_rows)) or 0)


async def _stored(services: Services, document_id: str) -> Any:
    async with services.db.read() as conn:
        return (await conn.execute(select(_rows).where(_rows.c.document_id == document_id))).one_or_none()


def test_an_apollo_manifest_and_a_relay_map_are_both_read() -> None:
    apollo = {
        "format": APOLLO_FORMAT,
        "version": 1,
        "operations": [{"id": "a1", "name": "Me", "type": "query", "body": "query Me { viewer { id } }"}],
    }
    relay = {"r1": "query Me { viewer { id } }", "r2": "{ organization { id } }"}
    assert parse_manifest(apollo) == [ManifestOperation("a1", "query Me { viewer { id } }", "Me")]
    assert parse_manifest(relay) == [
        ManifestOperation("r1", "query Me { viewer { id } }"),
        ManifestOperation("r2", "{ organization { id } }"),
    ]


@pytest.mark.parametrize(
    "manifest",
    [
        [],
        "query { viewer { id } }",
        {},
        {"format": "something-else", "version": 1, "operations": []},
        {"format": APOLLO_FORMAT, "version": 2, "operations": []},
        {"format": APOLLO_FORMAT, "version": 1, "operations": [{"id": "x"}]},
        {"r1": {"text": "{ viewer { id } }"}},
    ],
)
def test_anything_else_is_a_bad_manifest(manifest: Any) -> None:
    with pytest.raises(BadUserInput) as refused:
        parse_manifest(manifest)
    assert refused.value.argument == "input.manifest"


async def test_a_manifest_is_stored_with_its_hash_type_name_and_cost(
    services: Services, prepare: Any
) -> None:
    # Given a manifest with a named query, an anonymous one and a mutation
    query, anonymous, mutation = _id(), _id(), _id()
    operations = [
        ManifestOperation(query, _body("query Me { viewer { user { id name } } }"), "Me"),
        ManifestOperation(anonymous, _body("{ organization { id } }")),
        ManifestOperation(mutation, _body("mutation Out { authLogout { ok } }")),
    ]
    # When it is registered
    result = await register_documents(services.db, operations, client_name=" web ", prepare=prepare)
    # Then each is stored as given, typed and named from its body, with a cost
    assert (result.registered, result.unchanged) == (3, 0)
    assert [d.document_id for d in result.documents] == [query, anonymous, mutation]
    assert [(d.operation_type, d.name) for d in result.documents] == [
        ("query", "Me"),
        ("query", None),
        ("mutation", "Out"),
    ]
    stored = await _stored(services, query)
    assert stored.sha256 == sha256_of(operations[0].body)
    assert (stored.body, stored.client_name) == (operations[0].body, "web")
    assert all(d.cost > 0 for d in result.documents)
    # And registering it again stores nothing more
    again = await register_documents(services.db, operations, client_name="web", prepare=prepare)
    assert (again.registered, again.unchanged) == (0, 3)
    assert [d.id for d in again.documents] == [d.id for d in result.documents]


async def test_a_bigger_operation_costs_more(services: Services, prepare: Any) -> None:
    small = prepare("{ viewer { user { id } } }")
    big = prepare("{ projects { nodes { id name tasks { nodes { id title assignee { id name } } } } } }")
    assert 0 < small.cost < big.cost


@pytest.mark.parametrize(
    ("bad_body", "reason"),
    [
        ("{ viewer { nope } }", "does not validate"),
        ("{ viewer { id }", "does not parse"),
        ("query A { viewer { user { id } } } query B { organization { name } }", "exactly one"),
    ],
)
async def test_one_bad_document_stores_none_of_the_manifest(
    services: Services, prepare: Any, bad_body: str, reason: str
) -> None:
    # Given a manifest with good documents and one bad one
    bad_id = _id()
    operations = [
        ManifestOperation(_id(), _body()),
        ManifestOperation(bad_id, f"# {uuid.uuid4()}\n{bad_body}"),
        ManifestOperation(_id(), _body("{ organization { name } }")),
    ]
    before = await _count(services)
    # When it is registered, then it is refused, naming the document and the reason
    with pytest.raises(BadUserInput, match=reason) as refused:
        await register_documents(services.db, operations, client_name="web", prepare=prepare)
    assert bad_id in refused.value.message
    # And nothing was stored
    assert await _count(services) == before


async def test_an_id_keeps_its_body(services: Services, prepare: Any) -> None:
    # Given a registered document
    document_id, body = _id(), _body()
    await register_documents(
        services.db, [ManifestOperation(document_id, body)], client_name="web", prepare=prepare
    )
    before = await _count(services)
    # When a manifest brings the same id with another body (beside a new document)
    operations = [ManifestOperation(_id(), _body()), ManifestOperation(document_id, _body())]
    # Then it is refused, and neither the old document nor the new one changed
    with pytest.raises(BadUserInput, match="immutable"):
        await register_documents(services.db, operations, client_name="web", prepare=prepare)
    assert await _count(services) == before
    assert (await _stored(services, document_id)).body == body


async def test_two_clients_may_register_one_body_under_their_own_ids(
    services: Services, prepare: Any
) -> None:
    # Given one operation shipped by two clients under their own ids
    body, first, second = _body(), _id(), _id()
    await register_documents(
        services.db, [ManifestOperation(first, body)], client_name="web", prepare=prepare
    )
    await register_documents(
        services.db, [ManifestOperation(second, body)], client_name="ios", prepare=prepare
    )
    # Then both ids run it, and its hash names the first registered
    assert (await _stored(services, first)).client_name == "web"
    assert (await _stored(services, second)).client_name == "ios"
    registry = TrustedDocuments(services.db)
    found = await registry.fetch(sha256=sha256_of(body))
    assert found is not None
    assert found.document_id == first


async def test_the_registry_learns_what_another_process_registered(services: Services, prepare: Any) -> None:
    # Given a process's registry, up to date
    registry = TrustedDocuments(services.db)
    await registry.refresh()
    document_id, body = _id(), _body()
    assert registry.get(document_id=document_id) is None
    # When another process registers a document
    await register_documents(
        services.db, [ManifestOperation(document_id, body)], client_name="web", prepare=prepare
    )
    # Then the next refresh finds it (only it: the refresh reads what is newer than it knew)
    assert await registry.refresh() == 1
    by_id = registry.get(document_id=document_id)
    assert by_id is not None
    assert by_id.body == body
    assert registry.get(sha256=sha256_of(body)) == by_id
    # And a registry that has not refreshed yet reads it once, then from memory
    other = TrustedDocuments(services.db)
    with count_statements() as first:
        assert await other.fetch(sha256=by_id.sha256) == by_id
    with count_statements() as second:
        assert await other.fetch(document_id=document_id) == by_id
    assert (first.count, second.count) == (1, 0)
    assert await other.fetch(document_id=_id()) is None


def _cli(manifest: Path, client: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    env |= {"TASKQL_ENVIRONMENT": "test", "TASKQL_DATABASE_URL": test_services.DATABASE_URL}
    command = [sys.executable, "-m", "schema", "documents", str(manifest), "--client", client]
    return subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_the_command_line_registers_a_manifest_file(services: Services, tmp_path: Path) -> None:
    # Given a Relay map in a file
    first, second = _id(), _id()
    manifest = tmp_path / "relay.json"
    compiled, not_compiled = _body("{ tasks(first: 1) { totalCount } }"), _body("{ webhooks { id } }")
    manifest.write_bytes(orjson.dumps({first: compiled, second: not_compiled}))
    # When the command registers it, twice
    ran = _cli(manifest, "ios")
    again = _cli(manifest, "ios")
    # Then the first run stores both, the second none, and says so, with the engine that runs each
    engines = [f"  {first}: compiled", f"  {second}: resolvers (Query.webhooks is not compiled)"]
    assert (ran.returncode, ran.stdout.splitlines()) == (0, ["registered 2, unchanged 0", *engines]), (
        ran.stderr
    )
    assert (again.returncode, again.stdout.splitlines()) == (0, ["registered 0, unchanged 2", *engines])
    assert (await _stored(services, first)).client_name == "ios"


async def test_the_command_line_refuses_a_bad_manifest(services: Services, tmp_path: Path) -> None:
    before = await _count(services)
    broken = tmp_path / "broken.json"
    broken.write_bytes(orjson.dumps({_id(): _body(), _id(): "{ viewer { nope } }"}))
    not_json = tmp_path / "not.json"
    not_json.write_text("{ viewer { id } }")
    for path, message in ((broken, "does not validate"), (not_json, "not JSON")):
        ran = _cli(path, "ios")
        assert ran.returncode == 1
        assert message in ran.stderr
    assert await _count(services) == before


async def test_a_refresh_that_meets_a_database_outage_logs_a_warning_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = Database(
        create_async_engine("mysql+aiomysql://root@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    )
    documents = TrustedDocuments(unreachable)
    with caplog.at_level(logging.WARNING, logger="taskql"), contextlib.suppress(TimeoutError):
        # The first refresh fails at once (nothing listens there); the run then waits for the next.
        async with asyncio.timeout(1.0):
            await documents.run(interval_seconds=3600)
    await unreachable.dispose()
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert "database is unreachable" in record.getMessage()
