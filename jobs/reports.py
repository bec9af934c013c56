"""The report job: ``build_report(report_id)`` computes a project's status report and writes its files.

It takes only the id. Each attempt marks the row running (and counts it), computes the figures in SQL
(persistence/queries/reports.py), writes the CSV and the HTML under TASKQL_REPORT_ROOT at the report's
fixed key, atomically, and marks the row succeeded (with a read replica, the figures come from it once
it has caught up with the primary: persistence/db.py, ``read_caught_up``). Running it again rebuilds
the same two files, so a redelivered job is harmless. A failure raises for RQ to retry (REPORT_RETRY:
twice, after a fixed wait); the last attempt also marks the row failed with a short message for the
requester, while the traceback stays in the log and in RQ's failed registry.
"""

from __future__ import annotations

import logging

from jobs.queues import is_last_attempt, job_settings, with_database
from jobs.report_render import ReportHeading, render_csv, render_html
from persistence.db import Database
from persistence.models.base import utcnow
from persistence.queries import report_writes
from persistence.queries.reports import report_for_job, status_figures
from persistence.report_files import ReportStore, report_key
from persistence.settings import Settings

log = logging.getLogger("taskql.jobs.reports")

SUCCEEDED = "succeeded"
GONE = "gone"
FAILED_MESSAGE = "the report could not be built; ask for a new one later"


async def build_report(report_id: int) -> str:
    """``"succeeded"``, or ``"gone"`` when the row no longer exists; raises when the build failed."""
    settings = job_settings()
    return await with_database(settings, lambda db: _attempt(db, settings, report_id))


async def _attempt(db: Database, settings: Settings, report_id: int) -> str:
    async with db.unit_of_work() as conn:
        if not await report_writes.start_attempt(conn, report_id, utcnow()):
            log.info("report %d: gone, nothing to build", report_id)
            return GONE
    try:
        key = await _build(db, settings, report_id)
    except Exception:
        if is_last_attempt():
            log.exception("report %d failed for good", report_id)
            async with db.unit_of_work() as conn:
                await report_writes.mark_failed(conn, report_id, FAILED_MESSAGE, utcnow())
        else:
            log.warning("report %d failed; RQ retries it", report_id, exc_info=True)
        raise
    async with db.unit_of_work() as conn:
        await report_writes.mark_succeeded(conn, report_id, key, utcnow())
    return SUCCEEDED


async def _build(db: Database, settings: Settings, report_id: int) -> str:
    now = utcnow()
    # The figures are a heavy read: the replica's, once it holds every write made before the build
    # began (the request's included), waiting for it at most the lag bound; else the primary's.
    async with db.read_caught_up(settings.replica_max_lag_seconds) as conn:
        row = await report_for_job(conn, report_id)
        if row is None:
            raise LookupError(f"report {report_id} vanished while it was being built")
        figures = await status_figures(conn, row.project_id, now)
    heading = ReportHeading(report_id, row.project_key, row.project_name, now)
    store, key = ReportStore(settings.report_root), report_key(report_id)
    # Blocking, but on this job's own event loop (nothing else runs on it).
    store.write(key, "csv", render_csv(heading, figures))
    store.write(key, "html", render_html(heading, figures))
    return key
