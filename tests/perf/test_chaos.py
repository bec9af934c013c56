"""`make chaos` in short: a Redis crash and an API process killed mid-write, under the drill's load,
lose no acknowledged write, write none twice, and the subscriber resumes without missing an event."""

from __future__ import annotations

import pytest

from perf.chaos.faults import PROFILES
from perf.chaos.run import drill


async def test_a_short_drill_loses_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Given the whole stack of its own (a short path: it holds MariaDB's socket)
    directory = tmp_path_factory.mktemp("chaos")
    # When Redis is killed for a few seconds, then the API process while a write is in flight
    result = await drill(PROFILES["short"], directory)
    # Then every acknowledged write is in the database once, and no event went missing
    report = "\n".join(result.lines)
    assert result.faults == 2, report
    assert result.ledger.acknowledged > 0, report
    assert (result.ledger.lost, result.ledger.duplicated, result.ledger.events_missed) == (0, 0, 0), report
    assert result.ledger.persisted == result.ledger.acknowledged, report
    # And the outages were answered as outages, never as a server error
    assert result.misbehaved == 0, report
