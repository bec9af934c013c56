"""`python -m schema migrate` says what it applied, and the database commands answer a database they
cannot use with one line and status 1: real processes against the suite's MariaDB."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests import services as test_services

ROOT = Path(__file__).resolve().parents[2]
WRONG_PASSWORD_URL = test_services.DATABASE_URL.replace("root@", "root:not-the-password@", 1)


def _schema(*arguments: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQL_")}
    env |= {"TASKQL_ENVIRONMENT": "test", "TASKQL_DATABASE_URL": database_url}
    return subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "schema", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    """A database of its own, empty: the suite's is migrated already."""
    test_services.require_tcp("MariaDB", test_services.MARIADB_HOST, test_services.MARIADB_PORT)
    name = f"{test_services.MARIADB_DATABASE}_migrate"
    server = create_async_engine(test_services.MARIADB_SERVER_URL)
    async with server.begin() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    try:
        yield f"{test_services.MARIADB_SERVER_URL}/{name}"
    finally:
        async with server.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await server.dispose()


def test_migrate_names_each_revision_then_says_it_is_at_head(empty_database: str) -> None:
    scripts = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    revisions = [script.revision for script in reversed(list(scripts.walk_revisions()))]
    # When a fresh database is migrated, then migrated again
    fresh = _schema("migrate", database_url=empty_database)
    again = _schema("migrate", database_url=empty_database)
    # Then the first run names every revision, oldest first, and the second only the head
    assert fresh.returncode == 0, fresh.stderr
    assert [line.split(":")[0] for line in fresh.stdout.splitlines()] == [f"applied {r}" for r in revisions]
    assert fresh.stdout.startswith("applied 0001: initial schema\n")
    assert (again.returncode, again.stdout) == (0, f"already at head {revisions[-1]}\n")


@pytest.mark.parametrize(
    "arguments",
    [("migrate",), ("documents", "manifest.json", "--client", "web"), ("operator", "grant", "a@taskql.dev")],
)
def test_a_wrong_password_is_one_line_and_status_1(
    database: str, tmp_path: Path, arguments: tuple[str, ...]
) -> None:
    (tmp_path / "manifest.json").write_text('{"doc-1": "{ viewer { user { id } } }"}')
    arguments = tuple(str(tmp_path / a) if a == "manifest.json" else a for a in arguments)
    ran = _schema(*arguments, database_url=WRONG_PASSWORD_URL)
    assert ran.returncode == 1
    [line] = ran.stderr.splitlines()
    assert line.startswith("taskql: database mysql+aiomysql://root:***@"), line
    assert "Access denied" in line
    assert "not-the-password" not in ran.stderr


def test_an_unparsable_url_is_one_line_and_status_1() -> None:
    ran = _schema("migrate", database_url="not a url")
    assert ran.returncode == 1
    assert ran.stderr == (
        "taskql: TASKQL_DATABASE_URL is not a database URL we can use: "
        "Could not parse SQLAlchemy URL from given URL string\n"
    )
