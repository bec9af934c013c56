"""A report job that fails, through real worker processes: retried twice after the same fixed wait
(shortened to 3 s here, as TASKQL_REPORT_RETRY_DELAY_SECONDS allows), then failed for good with a short
message; redelivered from RQ's failed registry to a healthy worker, the same job then succeeds.

This module runs its own workers (no ``worker`` fixture): first one whose TASKQL_REPORT_ROOT is a
regular file, so writing the report fails as a full or broken disk would, then a healthy one.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from redis import Redis
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select

from jobs.enqueue import REPORT, ReportJobs, report_job_id
from jobs.queues import LOW
from jobs.reports import FAILED_MESSAGE
from persistence.enums import ReportStatus
from persistence.models import Report
from persistence.queries.rows import AnyRow
from persistence.report_files import ReportStore, report_key
from resolvers.context import Services
from schema.core.ids import encode_id
from tests import services as test_services
from tests.conftest import GraphQLClient, make_settings
from tests.jobs.conftest import running_worker
from tests.jobs.sink import Sink
from tests.jobs.waiting import until
from tests.report_data import insert_report, report_world

DELAY_SECONDS = 3
READ = "query($id: ID!) { report(id: $id) { status attempts error csvUrl } }"


async def _row(services: Services, report_id: int) -> AnyRow:
    async with services.db.read() as conn:
        return (await conn.execute(select(Report.__table__).where(Report.id == report_id))).one()


async def _watch_attempts(services: Services, report_id: int, within: float) -> tuple[AnyRow, list[float]]:
    """Polls the row until it has failed for good; when each attempt was first seen running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    seen: list[float] = []
    while True:
        row = await _row(services, report_id)
        if row.attempts > len(seen):
            seen.extend([loop.time()] * (row.attempts - len(seen)))
        if row.status == ReportStatus.FAILED:
            return row, seen
        assert loop.time() < deadline, f"timed out waiting for report {report_id} to fail ({row})"
        await asyncio.sleep(0.05)


async def test_a_failing_report_is_retried_twice_after_a_fixed_wait_then_fails_and_can_be_redelivered(
    services: Services,
    gql: GraphQLClient,
    rq_redis: Redis,
    sink: Sink,
    tmp_path: Path,
) -> None:
    # Given a queued report, and a worker that cannot write report files
    world = await report_world(services)
    report_id = await insert_report(services, world, ReportStatus.QUEUED)
    broken_root = tmp_path / "not-a-directory"
    broken_root.write_text("a file where the report root should be")
    env = {"TASKQL_REPORT_ROOT": str(broken_root)}
    jobs = ReportJobs(make_settings(report_retry_delay_seconds=DELAY_SECONDS), connection=rq_redis)
    with running_worker(sink, tmp_path / "failing", env):
        # When its job is enqueued (and enqueued again: unique, so one job)
        assert jobs.enqueue(REPORT, report_id) is True
        assert jobs.enqueue(REPORT, report_id) is False
        row, started = await _watch_attempts(services, report_id, 30)
    # Then it ran three times, each retry after the same fixed wait, and failed for good
    assert row.attempts == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    assert len(gaps) == 2
    # RQ keeps a retry's due time in whole seconds (truncated), so one may start up to 1 s early; a
    # doubling wait (3 s, then 6 s) would leave the second gap far above the bound.
    assert all(DELAY_SECONDS - 1.1 <= gap <= DELAY_SECONDS + 1.5 for gap in gaps), gaps
    assert (row.error, row.storage_key) == (FAILED_MESSAGE, None)
    assert row.finished_at is not None
    job = Job.fetch(report_job_id(report_id), connection=rq_redis, serializer=JSONSerializer)
    assert (job.retry_intervals, job.retries_left, job.get_status()) == (
        [DELAY_SECONDS, DELAY_SECONDS], 0, JobStatus.FAILED,
    )  # fmt: skip
    failed = FailedJobRegistry(LOW, connection=rq_redis, serializer=JSONSerializer)
    assert job.id in failed.get_job_ids()
    # And its reader sees a short message, no internals, and no file
    viewer = gql.as_user(await gql.login(world.viewer_email))
    body = await viewer.run(READ, {"id": encode_id("Report", report_id)})
    assert body["data"]["report"] == {
        "status": "FAILED",
        "attempts": 3,
        "error": FAILED_MESSAGE,
        "csvUrl": None,
    }
    # When the failed job is redelivered to a healthy worker
    with running_worker(sink, tmp_path / "healthy"):
        failed.requeue(job.id)
        await until(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 15, "the redelivered job")
    # Then the same report succeeds, on its fourth attempt, with its files in place
    row = await _row(services, report_id)
    assert (row.status, row.attempts, row.error) == (ReportStatus.SUCCEEDED, 4, None)
    assert row.storage_key == report_key(report_id)
    store = ReportStore(test_services.REPORT_ROOT)
    assert store.path_of(row.storage_key, "csv").read_text().startswith("# report")
    assert store.path_of(row.storage_key, "html").read_text().startswith("<!doctype html>")
