"""The ``private_mariadb`` fixture: a mariadbd of a test's own (perf/shared/private_mariadb.py); and
``private_replication``: a primary and its replica."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from perf.shared.local_processes import NotInstalled
from perf.shared.private_mariadb import (
    PrivateMariaDB,
    PrivateReplication,
    start_private_mariadb,
    start_private_replication,
)
from tests.services import in_ci


@pytest.fixture
def private_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateMariaDB]:
    """A mariadbd of this test's own on a free port (never the shared 3306 server); killed at the end."""
    try:
        server = start_private_mariadb(Path(tmp_path_factory.mktemp("mariadb")))
    except NotInstalled as missing:
        pytest.skip(str(missing))
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def private_replication(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateReplication]:
    """A primary and a replica replicating from it, both of this test's own; killed at the end. Under
    CI=true missing MariaDB binaries fail the test instead of skipping it."""
    try:
        pair = start_private_replication(Path(tmp_path_factory.mktemp("replication")))
    except NotInstalled as missing:
        if in_ci():
            pytest.fail(f"{missing} (CI=true: the replica's tests must run)", pytrace=False)
        pytest.skip(str(missing))
    try:
        yield pair
    finally:
        pair.kill()
