"""The status report's figures, computed by MariaDB (GROUP BY) over a project whose answer is known,
and the ISO week arithmetic on both dialects."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from persistence.enums import TaskStatus
from persistence.models.base import UtcDateTime
from persistence.queries.reports import THROUGHPUT_WEEKS, status_figures, week_start
from persistence.statements import count_statements
from resolvers.context import Services
from tests.report_data import report_world

S = TaskStatus


async def test_the_figures_count_live_tasks_of_the_project_by_status_assignee_due_date_and_week(
    services: Services,
) -> None:
    # Given a project with known tasks (tests/report_data.py)
    world = await report_world(services)
    # When its figures are computed
    async with services.db.read() as conn:
        with count_statements() as counter:
            figures = await status_figures(conn, world.project_id, datetime.now(UTC))
    # Then they are the known ones, deleted tasks and the other project's left out
    assert figures.by_status == {
        S.BACKLOG: 1, S.TODO: 4, S.IN_PROGRESS: 1, S.IN_REVIEW: 1, S.DONE: 4, S.CANCELED: 1,
    }  # fmt: skip
    zero = dict.fromkeys(S, 0)
    assert [(a.name, a.by_status) for a in figures.by_assignee] == [
        ("Other", {**zero, S.IN_PROGRESS: 1, S.IN_REVIEW: 1, S.DONE: 2}),
        ("Viewer", {**zero, S.TODO: 4, S.DONE: 1, S.CANCELED: 1}),
        (None, {**zero, S.BACKLOG: 1, S.DONE: 1}),
    ]
    assert [a.assignee_id for a in figures.by_assignee] == [world.other_id, world.viewer_id, None]
    assert figures.overdue == 2
    # And the throughput has 12 ISO weeks ending with this one: 1 done this week, 2 the week before
    # (one in its last second), none earlier within the window
    weeks = figures.throughput
    assert len(weeks) == THROUGHPUT_WEEKS
    assert [w.week_start for w in weeks] == [
        world.this_monday - timedelta(weeks=n) for n in reversed(range(THROUGHPUT_WEEKS))
    ]
    assert [w.completed for w in weeks] == [0] * 10 + [2, 1]
    year, week, _ = world.this_monday.isocalendar()
    assert weeks[-1].iso_week == f"{year}-W{week:02d}"
    # And four aggregate statements answer it, however many tasks there are
    assert counter.count == 4
    assert all("GROUP BY" in s.upper() or "count(" in s.lower() for s in counter.statements)


# A Monday, a Sunday at its last microsecond, and a week spanning two years (ISO 2026-W53 ends
# on Sunday 2027-01-03).
WEEKS = [
    (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), date(2026, 11, 23)),
    (datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC), date(2026, 11, 23)),
    (datetime(2027, 1, 3, 12, 0, tzinfo=UTC), date(2026, 12, 28)),
    (datetime(2026, 12, 31, 8, 0, tzinfo=UTC), date(2026, 12, 28)),
]


async def _week_starts(engine: AsyncEngine) -> list[date]:
    async with engine.connect() as conn:
        found: list[date] = []
        for moment, _ in WEEKS:
            value = await conn.scalar(select(week_start(literal(moment, UtcDateTime()))))
            assert value is not None
            found.append(date.fromisoformat(value) if isinstance(value, str) else value)
        return found


@pytest.mark.usefixtures("database")
async def test_week_start_is_the_iso_monday_on_mariadb(services: Services) -> None:
    assert await _week_starts(services.db.engine) == [monday for _, monday in WEEKS]


async def test_week_start_is_the_iso_monday_on_sqlite(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'weeks.db'}")
    try:
        assert await _week_starts(engine) == [monday for _, monday in WEEKS]
    finally:
        await engine.dispose()
