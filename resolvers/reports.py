"""Project reports: asking for one (``reportRequest``) and reading one back.

Whoever may read a project may ask for its reports and read them; for anyone else the project, and
its reports, do not exist (NOT_FOUND) and a request writes nothing. A request inserts the row (with a
``report.requested`` event, which carries the Idempotency-Key) in one unit of work, then enqueues the
job (jobs/enqueue.py ReportJobs). A failed enqueue leaves the report ``queued`` and is logged; nothing
enqueues it later yet. A replay that reaches this code (the edge's stored answer gone) enqueues again,
which ``unique=True`` makes harmless.
"""

from __future__ import annotations

from persistence.enums import ReportKind
from persistence.queries import report_writes
from persistence.queries import reports as queries
from persistence.queries.records import report_record
from persistence.queries.rows import AnyRow
from persistence.records import ReportRecord
from resolvers.context import RequestContext
from resolvers.errors import NotFound
from resolvers.mutations import ErrorCode, MutationResult
from resolvers.writes import Write, run_write


def _replayed(event: AnyRow) -> MutationResult:
    return MutationResult(event.payload.get("report_id"))


async def request_report(ctx: RequestContext, project_id: int, kind: ReportKind) -> MutationResult:
    scope = ctx.require_principal().scope

    async def write_report(write: Write) -> MutationResult:
        report_id = await report_writes.insert_report(write.conn, scope, project_id, kind, write.now)
        if report_id is None:
            return MutationResult.failed("projectId", ErrorCode.NOT_FOUND, "project not found")
        # Organization-level (no project sequence): the project's taskEvents subscribers have no use for it.
        payload = {"report_id": report_id, "project_id": project_id, "kind": kind.value}
        await write.record("report.requested", project_id=None, payload=payload)
        return MutationResult(report_id)

    result = await run_write(ctx, write_report, on_replay=_replayed)
    if result.object_id is not None:
        await ctx.services.report_jobs.submit(result.object_id)
    return result


async def report_or_none(ctx: RequestContext, report_id: int | None) -> ReportRecord | None:
    """The report if the principal may read its project (one read)."""
    if report_id is None:
        return None
    async with ctx.db.read() as conn:
        row = await queries.report_by_id(conn, ctx.require_principal().scope, report_id)
    return None if row is None else report_record(row)


async def report(ctx: RequestContext, report_id: int) -> ReportRecord:
    found = await report_or_none(ctx, report_id)
    if found is None:
        raise NotFound("report")
    return found
