"""The ``private_mariadb`` fixture: a mariadbd of a test's own (perf/shared/private_mariadb.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from perf.shared.local_processes import NotInstalled
from perf.shared.private_mariadb import PrivateMariaDB, start_private_mariadb


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
