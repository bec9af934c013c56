"""``python -m jobs.failed``: a job whose retries are spent is listed with its error, and requeued
from there it runs again (through the real worker, against the real SMTP sink)."""

from __future__ import annotations

import io

import pytest
from redis import Redis

from jobs.enqueue import NotificationEmails, email_job_id
from jobs.failed import run
from resolvers.context import Services
from tests.conftest import make_settings
from tests.jobs.sink import Sink
from tests.jobs.waiting import finished, until
from tests.notification_crew import MakeOrg, add_notifications, make_crew


def _run(rq_redis: Redis, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run(list(argv), rq_redis, out)
    return code, out.getvalue()


@pytest.mark.usefixtures("worker")
async def test_a_failed_job_is_listed_with_its_error_and_requeued_by_id(
    services: Services, make_org: MakeOrg, sink: Sink, rq_redis: Redis
) -> None:
    crew = await make_crew(services, None, make_org)
    address = crew.emails["colleague"]
    [notification_id] = await add_notifications(
        services, crew.org.organization_id, crew.ids["colleague"], crew.task_id, crew.ids["author"], 1,
        project_id=crew.project_id,
    )  # fmt: skip
    job_id = email_job_id(notification_id)
    # Given a job that failed for good: the server refused all four attempts
    sink.refusals[address] = 4
    enqueuer = NotificationEmails(make_settings(job_backoff_base_seconds=0.25), connection=rq_redis)
    assert enqueuer.enqueue([notification_id]) == 1
    await until(lambda: job_id in _run(rq_redis, "list")[1], 25, "the job to fail")
    # Then `list` shows it on the high queue with the server's answer
    [line] = [line for line in _run(rq_redis, "list")[1].splitlines() if line.startswith(job_id)]
    shown_id, queue_name, _ended, description, error = line.split("\t")
    assert (shown_id, queue_name) == (job_id, "high")
    assert description == f"notification email {notification_id}"
    assert "451" in error
    # And an unknown id is refused, requeueing nothing
    assert _run(rq_redis, "requeue", "email-notification-0") == (
        1,
        "not a failed job: email-notification-0\n",
    )
    assert job_id in _run(rq_redis, "list")[1]
    # While `requeue ID` puts it back: it runs again and is delivered
    assert _run(rq_redis, "requeue", job_id) == (0, f"requeued {job_id}\n")
    await until(lambda: finished(rq_redis, job_id), 10, "the requeued job")
    assert len(sink.to(address)) == 1
    assert job_id not in _run(rq_redis, "list")[1]
