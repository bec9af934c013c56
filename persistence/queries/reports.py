"""Report reads: one report as its reader may see it, and the aggregates a status report shows.

Every figure is computed by the database (GROUP BY over the project's tasks, through the
``(project_id, ...)`` indexes); no task is loaded one by one. Deleted tasks count nowhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from persistence.enums import TaskStatus
from persistence.models import Project, Report, Task, User
from persistence.queries.projects import project_columns
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope, visible_project
from persistence.queries.users import user_columns

_reports, _projects, _tasks, _users = Report.__table__, Project.__table__, Task.__table__, User.__table__
THROUGHPUT_WEEKS = 12
# Closed tasks are never overdue: done, and also canceled (nobody will finish those).
CLOSED = (TaskStatus.DONE, TaskStatus.CANCELED)
REPORT_FIELDS = (
    "id",
    "organization_id",
    "project_id",
    "requested_by",
    "kind",
    "status",
    "attempts",
    "error",
    "storage_key",
    "created_at",
    "started_at",
    "finished_at",
)


async def report_by_id(conn: AsyncConnection, scope: Scope, report_id: int) -> AnyRow | None:
    """The report if its project is in the scope's organization and visible to it, else None; with
    its project (``project__`` columns) and requester (``requester__``), so a payload costs one read."""
    found = await reports_by_ids(conn, scope, [report_id])
    return found[0] if found else None


async def reports_by_ids(conn: AsyncConnection, scope: Scope, report_ids: Sequence[int]) -> Sequence[AnyRow]:
    """``report_by_id`` for many ids in one statement: the visible ones, in no particular order."""
    statement = (
        select(
            *[_reports.c[name] for name in REPORT_FIELDS],
            *project_columns(_projects, "project__"),
            *user_columns(_users, "requester__"),
        )
        .select_from(
            _reports.join(_projects, _projects.c.id == _reports.c.project_id).join(
                _users, _users.c.id == _reports.c.requested_by
            )
        )
        .where(
            _reports.c.id.in_(report_ids),
            _reports.c.organization_id == scope.organization_id,
            _projects.c.organization_id == scope.organization_id,
            visible_project(scope, _reports.c.project_id),
        )
    )
    return (await conn.execute(statement)).all()


async def report_for_job(conn: AsyncConnection, report_id: int) -> AnyRow | None:
    """The report with its project's key and name, for the job that builds it (no scope: the job
    carries only the id, and the request that made the row was authorized)."""
    statement = (
        select(
            *[_reports.c[name] for name in REPORT_FIELDS],
            _projects.c.key.label("project_key"),
            _projects.c.name.label("project_name"),
        )
        .select_from(_reports.join(_projects, _projects.c.id == _reports.c.project_id))
        .where(_reports.c.id == report_id)
    )
    return (await conn.execute(statement)).one_or_none()


class week_start(FunctionElement[date]):
    """The Monday (a DATE) of the ISO week a UTC datetime falls in."""

    type = Date()
    inherit_cache = True


@compiles(week_start, "mysql")
@compiles(week_start, "mariadb")
def _week_start_mysql(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    (argument,) = element.clauses
    value = compiler.process(argument, **kw)
    return f"DATE(DATE_SUB({value}, INTERVAL WEEKDAY({value}) DAY))"


@compiles(week_start, "sqlite")
def _week_start_sqlite(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    # The stored text's day (SQLite would round 23:59:59.9995 up into the next day), six days back,
    # then forward to the next Monday: the Monday on or before the day.
    (argument,) = element.clauses
    return f"date(substr({compiler.process(argument, **kw)}, 1, 10), '-6 days', 'weekday 1')"


@dataclass(frozen=True)
class AssigneeCounts:
    assignee_id: int | None
    # None: the tasks nobody is assigned to.
    name: str | None
    by_status: dict[TaskStatus, int]


@dataclass(frozen=True)
class WeekCount:
    week_start: date
    completed: int

    @property
    def iso_week(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class StatusFigures:
    by_status: dict[TaskStatus, int]
    by_assignee: list[AssigneeCounts]
    overdue: int
    # The last THROUGHPUT_WEEKS ISO weeks, oldest first, this week included, empty weeks as 0.
    throughput: list[WeekCount]


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def status_figures(conn: AsyncConnection, project_id: int, now: datetime) -> StatusFigures:
    """Four aggregate statements over the project's live tasks."""
    live = (_tasks.c.project_id == project_id, _tasks.c.deleted_at.is_(None))
    by_status = await conn.execute(
        select(_tasks.c.status, func.count()).where(*live).group_by(_tasks.c.status)
    )
    statuses = _zeroed({TaskStatus(status): int(count) for status, count in by_status})
    by_assignee = await conn.execute(
        select(_tasks.c.assignee_id, _users.c.name, _tasks.c.status, func.count())
        .select_from(_tasks.outerjoin(_users, _users.c.id == _tasks.c.assignee_id))
        .where(*live)
        .group_by(_tasks.c.assignee_id, _users.c.name, _tasks.c.status)
    )
    overdue = await conn.scalar(
        select(func.count()).where(
            *live, _tasks.c.due_date < now.date(), _tasks.c.status.not_in([s.value for s in CLOSED])
        )
    )
    return StatusFigures(
        by_status=statuses,
        by_assignee=_assignees(by_assignee.all()),
        overdue=int(overdue or 0),
        throughput=await _throughput(conn, project_id, now),
    )


async def _throughput(conn: AsyncConnection, project_id: int, now: datetime) -> list[WeekCount]:
    """Tasks completed per ISO week: ``completed_at`` (set when a task moves to done, cleared when it
    leaves done) of the tasks that are done now."""
    first = monday_of(now.date()) - timedelta(weeks=THROUGHPUT_WEEKS - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    week = week_start(_tasks.c.completed_at)
    rows = await conn.execute(
        select(week.label("week"), func.count())
        .where(
            _tasks.c.project_id == project_id,
            _tasks.c.deleted_at.is_(None),
            _tasks.c.status == TaskStatus.DONE.value,
            _tasks.c.completed_at >= since,
        )
        .group_by(week)
    )
    counts = {_as_date(day): int(count) for day, count in rows}
    weeks = [first + timedelta(weeks=n) for n in range(THROUGHPUT_WEEKS)]
    return [WeekCount(day, counts.get(day, 0)) for day in weeks]


def _as_date(value: date | str) -> date:
    # SQLite's date() is text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def _zeroed(counts: dict[TaskStatus, int]) -> dict[TaskStatus, int]:
    return {status: counts.get(status, 0) for status in TaskStatus}


def _assignees(rows: Sequence[AnyRow]) -> list[AssigneeCounts]:
    """One entry per assignee, by name (the unassigned last), every status counted (0 if none)."""
    grouped: dict[int | None, tuple[str | None, dict[TaskStatus, int]]] = {}
    for assignee_id, name, status, count in rows:
        grouped.setdefault(assignee_id, (name, {}))[1][TaskStatus(status)] = int(count)
    entries = [AssigneeCounts(key, name, _zeroed(counts)) for key, (name, counts) in grouped.items()]
    return sorted(entries, key=lambda entry: (entry.name is None, entry.name or "", entry.assignee_id or 0))
