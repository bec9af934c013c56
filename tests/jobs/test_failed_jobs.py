"""``python -m jobs.failed``: jobs whose retries are spent are listed with their error, and requeued
from there (by id or all) they run again (through the real worker, against the real SMTP sink)."""

from __future__ import annotations

import io

import pytest
from redis import Redis

from jobs.enqueue import NOTIFICATION_EMAIL, NotificationEmails
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
async def test_failed_jobs_are_listed_with_their_error_and_requeued_by_id_or_all(
    services: Services, make_org: MakeOrg, sink: Sink, rq_redis: Redis
) -> None:
    crew = await make_crew(services, None, make_org)
    address = crew.emails["colleague"]
    notification_ids = await add_notifications(
        services, crew.org.organization_id, crew.ids["colleague"], crew.task_id, crew.ids["author"], 2,
        project_id=crew.project_id,
    )  # fmt: skip
    first, second = (NOTIFICATION_EMAIL.job_id(n) for n in notification_ids)
    # Given two jobs that failed for good: the server refused all four attempts of each
    sink.refusals[address] = 8
    enqueuer = NotificationEmails(make_settings(job_backoff_base_seconds=0.25), connection=rq_redis)
    assert enqueuer.enqueue_all(notification_ids) == 2
    await until(lambda: {first, second} <= _listed(rq_redis), 25, "the jobs to fail")
    # Then `list` shows each on the high queue with the server's answer
    [line] = [line for line in _run(rq_redis, "list")[1].splitlines() if line.startswith(first)]
    shown_id, queue_name, _ended, description, error = line.split("\t")
    assert (shown_id, queue_name) == (first, "high")
    assert description == f"notification email {notification_ids[0]}"
    assert "451" in error
    # And an unknown id is refused, requeueing nothing
    assert _run(rq_redis, "requeue", "email-notification-0") == (
        1,
        "not a failed job: email-notification-0\n",
    )
    assert {first, second} <= _listed(rq_redis)
    # While `requeue ID` puts that one back: it runs again and is delivered
    assert _run(rq_redis, "requeue", first) == (0, f"requeued {first}\n")
    await until(lambda: finished(rq_redis, first), 10, "the requeued job")
    assert len(sink.to(address)) == 1
    assert second in _listed(rq_redis)
    # And `requeue --all` the rest (with whatever other failed jobs the suite's Redis holds)
    code, out = _run(rq_redis, "requeue", "--all")
    assert code == 0
    assert f"requeued {second}" in out.splitlines()
    await until(lambda: finished(rq_redis, second), 10, "the job requeued with --all")
    assert len(sink.to(address)) == 2
    assert {first, second}.isdisjoint(_listed(rq_redis))


def _listed(rq_redis: Redis) -> set[str]:
    return {line.split("\t")[0] for line in _run(rq_redis, "list")[1].splitlines()}
