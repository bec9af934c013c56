"""Report rows: the guarded insert a request makes, and the status steps its job records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import ReportKind, ReportStatus
from persistence.models import Project, Report
from persistence.queries.guards import insert_guarded
from persistence.queries.scope import Scope, visible_project

_reports, _projects = Report.__table__, Project.__table__
ERROR_MAX = 200


async def insert_report(
    conn: AsyncConnection, scope: Scope, project_id: int, kind: ReportKind, now: datetime
) -> int | None:
    """The new report's id; None when the scope may not read the project (or it does not exist).

    One INSERT whose project_id is NULL unless the project is in the scope's organization and visible
    to it: whoever may read a project may report on it, and a refusal writes nothing."""
    guarded_project = select(_projects.c.id).where(
        _projects.c.id == project_id,
        _projects.c.organization_id == scope.organization_id,
        visible_project(scope, _projects.c.id),
    )
    statement = (
        insert(Report)
        .values(
            organization_id=scope.organization_id,
            project_id=guarded_project.scalar_subquery(),
            requested_by=scope.user_id,
            kind=kind,
            status=ReportStatus.QUEUED,
            attempts=0,
            created_at=now,
        )
        .returning(_reports.c.id)
    )
    return await insert_guarded(conn, statement, "reports", "project_id")


async def start_attempt(conn: AsyncConnection, report_id: int, now: datetime) -> bool:
    """Running again (a retry clears the last attempt's error); False when the row is gone."""
    result = await conn.execute(
        update(Report)
        .where(Report.id == report_id)
        .values(
            status=ReportStatus.RUNNING,
            attempts=Report.attempts + 1,
            started_at=now,
            finished_at=None,
            error=None,
        )
    )
    return result.rowcount == 1


async def mark_succeeded(conn: AsyncConnection, report_id: int, storage_key: str, now: datetime) -> None:
    await conn.execute(
        update(Report)
        .where(Report.id == report_id)
        .values(status=ReportStatus.SUCCEEDED, storage_key=storage_key, finished_at=now, error=None)
    )


async def mark_failed(conn: AsyncConnection, report_id: int, error: str, now: datetime) -> None:
    await conn.execute(
        update(Report)
        .where(Report.id == report_id)
        .values(status=ReportStatus.FAILED, error=error[:ERROR_MAX], finished_at=now)
    )
