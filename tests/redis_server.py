"""The ``private_redis`` fixture: a redis-server of a test's own (perf/shared/private_redis.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perf.shared.local_processes import NotInstalled
from perf.shared.private_redis import PrivateRedis, start_private_redis


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test's own, on a free port; the shared one is never disturbed."""
    try:
        server = start_private_redis()
    except NotInstalled as missing:
        pytest.skip(str(missing))
    try:
        yield server
    finally:
        server.kill()
