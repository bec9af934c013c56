"""examples/third_party/sync_tasks.py against a real server: it makes an API key with an admin's
login, has an operator register its manifest, then calls by `documentId` alone (a query, a write with
an idempotency key, a read back) and prints what it did."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert

from perf.shared.server_process import ROOT, ServerProcess, start_server
from persistence.enums import OrgRole
from persistence.models import User
from persistence.seed import SeededOrganization
from resolvers.context import Services
from tests import services as test_services
from tests.conftest import PASSWORD

SCRIPT = ROOT / "examples" / "third_party" / "sync_tasks.py"


@pytest.fixture(scope="module")
def server(
    database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    environment = {
        "TASKQL_DATABASE_URL": test_services.DATABASE_URL,
        "TASKQL_REDIS_URL": test_services.REDIS_URL,
        "TASKQL_REDIS_CHANNEL_PREFIX": test_services.CHANNEL_PREFIX,
        "TASKQL_ENVIRONMENT": "test",
        "TASKQL_MIGRATE_ON_START": "false",
        "TASKQL_SEED_DEMO_DATA": "false",
        # Every login comes from 127.0.0.1; the anonymous budget is not what this test is about.
        "TASKQL_ANONYMOUS_COST_BUCKET_CAPACITY": "1000000",
    }
    process = start_server(tmp_path_factory.mktemp("third-party") / "server.log", environment)
    yield process
    process.stop()


async def _operator(services: Services, org: SeededOrganization) -> str:
    email = f"{uuid.uuid4().hex[:12]}@operators.test"
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            insert(User).values(
                organization_id=org.organization_id,
                email=email,
                name="Platform operator",
                password_hash=await services.passwords.hash(PASSWORD),
                role=OrgRole.MEMBER,
                is_operator=True,
            )
        )
    return email


def _sync(server: ServerProcess, title: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    env |= {"TASKQL_URL": server.base_url, **settings}
    return subprocess.run(  # noqa: S603 - this repository's script
        [sys.executable, str(SCRIPT), title], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_the_third_party_script_creates_a_key_registers_and_calls_by_id(
    server: ServerProcess, services: Services, make_org: Any
) -> None:
    # Given an organization (its owner may make keys) and a platform operator
    org = await make_org()
    operator = await _operator(services, org)
    # When the script runs with their logins
    done = _sync(
        server,
        "Imported by the example",
        TASKQL_ADMIN_EMAIL=org.owner_email,
        TASKQL_ADMIN_PASSWORD=PASSWORD,
        TASKQL_OPERATOR_EMAIL=operator,
        TASKQL_OPERATOR_PASSWORD=PASSWORD,
    )
    # Then it made a key, registered the manifest's 3 documents, and called them by id
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("api key: created ")
    assert lines[0].endswith("(READ_WRITE)")
    assert lines[1] == "manifest: 3 registered, 0 unchanged"
    assert lines[2].startswith("projects: ")
    first_project = lines[2].removeprefix("projects: ").split(", ")[0]
    assert lines[3].startswith(f"created: {first_project}-")
    assert lines[3].endswith(" 'Imported by the example' (TODO)")
    created_key = lines[3].split()[1]
    assert lines[4] == f"read back: {created_key} in {first_project}"
    assert "Traceback" not in server.output()


async def test_a_key_that_does_not_exist_is_refused_with_the_servers_error(server: ServerProcess) -> None:
    # Given a made-up key: when the script calls with it, it stops with the server's UNAUTHENTICATED answer
    done = _sync(server, "never written", TASKQL_API_KEY="tq_nope_nope")
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["api key: from TASKQL_API_KEY", "manifest: registered beforehand"]
    assert "HTTP 401" in done.stderr
    assert "UNAUTHENTICATED" in done.stderr
