"""Notification emails end to end: relay -> RQ on the suite's Redis -> a real worker process -> SMTP.

The sink is a real SMTP server (aiosmtpd) that can refuse a recipient's first attempts with a 451; the
worker is ``python -m jobs.worker`` in a subprocess, started once for the module and stopped with
SIGTERM (a warm shutdown must exit 0; the fixtures are in tests/jobs/conftest.py). Retries are
enqueued with a 0.25 s backoff base (1 s waits).
"""

from __future__ import annotations

import asyncio

import pytest
from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import delete, select

from jobs.email import REJECTED, SENT, SKIPPED
from jobs.enqueue import NOTIFICATION_EMAIL, NotificationEmails
from jobs.queues import HIGH, queue
from persistence.models import ProjectMember, Task
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient, make_settings
from tests.jobs.sink import Sink
from tests.jobs.waiting import finished, until
from tests.jobs.worker_process import PUBLIC_BASE_URL
from tests.notification_crew import Crew, MakeOrg, add_notifications, make_crew, notifications_of

BASE_SECONDS = 0.25
VERSION = "query($id: ID!) { node(id: $id) { ... on Task { version } } }"
ASSIGN = "mutation($i: TaskAssignInput!) { taskAssign(input: $i) { errors { code } } }"


@pytest.fixture
def enqueuer(rq_redis: Redis) -> NotificationEmails:
    return NotificationEmails(make_settings(job_backoff_base_seconds=BASE_SECONDS), connection=rq_redis)


async def _notification(services: Services, crew: Crew, recipient: str) -> int:
    org = crew.org
    [notification_id] = await add_notifications(
        services, org.organization_id, crew.ids[recipient], crew.task_id, crew.ids["author"], 1,
        project_id=crew.project_id,
    )  # fmt: skip
    return notification_id


@pytest.mark.usefixtures("worker")
async def test_an_assignment_through_graphql_ends_as_one_email(
    services: Services, gql: GraphQLClient, make_org: MakeOrg, sink: Sink, rq_redis: Redis
) -> None:
    crew = await make_crew(services, gql, make_org)
    author, colleague = crew.clients["author"], crew.emails["colleague"]
    task_gid = encode_id("Task", crew.task_id)
    # When the author assigns the task to the colleague through the API
    version = (await author.run(VERSION, {"id": task_gid}))["data"]["node"]["version"]
    assignee = encode_id("User", crew.ids["colleague"])
    assign = {"i": {"id": task_gid, "version": version, "assigneeId": assignee}}
    assert (await author.run(ASSIGN, assign))["data"]["taskAssign"]["errors"] == []
    # Then the worker delivers one email to the colleague
    await until(lambda: bool(sink.to(colleague)), 15, "the assignment email")
    [stored] = await notifications_of(services, crew.ids["colleague"])
    job_id = NOTIFICATION_EMAIL.job_id(stored.id)
    await until(lambda: finished(rq_redis, job_id), 5, "the job to finish")
    [message] = sink.to(colleague)
    async with services.db.read() as conn:
        title = await conn.scalar(select(Task.title).where(Task.id == crew.task_id))
    # With the stable Message-ID, both bodies, and who did what
    expected_id = f"<notification.{stored.event_id}.{crew.ids['colleague']}@mail.taskql.test>"
    assert message["Message-ID"] == expected_id
    assert message["To"].addresses[0].addr_spec == colleague
    assert "assigned you" in message["Subject"]
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert title in plain.get_content()
    assert "Author" in plain.get_content()
    assert "<p>" in html.get_content()
    assert "Author" in html.get_content()
    # and the task's page, from the public base URL
    assert f"    {PUBLIC_BASE_URL}/tasks/{task_gid}" in plain.get_content().splitlines()
    assert f'<a href="{PUBLIC_BASE_URL}/tasks/{task_gid}">' in html.get_content()
    job = Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer)
    assert job.return_value() == SENT
    # And only the colleague got one: the author acted, nobody else was notified
    assert sink.to(crew.emails["author"]) == []


@pytest.mark.usefixtures("worker")
async def test_the_same_notification_enqueued_twice_is_one_job_and_one_email(
    services: Services, make_org: MakeOrg, sink: Sink, rq_redis: Redis, enqueuer: NotificationEmails
) -> None:
    crew = await make_crew(services, None, make_org)
    notification_id = await _notification(services, crew, "colleague")
    # Twice in one batch, then again: only the first is enqueued
    assert enqueuer.enqueue_all([notification_id, notification_id]) == 1
    assert enqueuer.enqueue_all([notification_id]) == 0
    job_id = NOTIFICATION_EMAIL.job_id(notification_id)
    await until(lambda: finished(rq_redis, job_id), 10, "the job to finish")
    # Still refused once it ran (its id is kept), and the queue holds no copy
    assert enqueuer.enqueue_all([notification_id]) == 0
    assert job_id not in queue(HIGH, rq_redis).get_job_ids()
    await asyncio.sleep(0.5)
    assert len(sink.to(crew.emails["colleague"])) == 1
    assert sink.attempts[crew.emails["colleague"]] == 1


@pytest.mark.usefixtures("worker")
async def test_a_refusing_server_is_retried_until_it_accepts(
    services: Services, make_org: MakeOrg, sink: Sink, rq_redis: Redis, enqueuer: NotificationEmails
) -> None:
    crew = await make_crew(services, None, make_org)
    address = crew.emails["colleague"]
    notification_id = await _notification(services, crew, "colleague")
    # Given a server that refuses the first two attempts with a 451
    sink.refusals[address] = 2
    assert enqueuer.enqueue_all([notification_id]) == 1
    # Then the third attempt (after two scheduled retries) delivers it, once
    await until(lambda: bool(sink.to(address)), 20, "the email after retries")
    job_id = NOTIFICATION_EMAIL.job_id(notification_id)
    await until(lambda: finished(rq_redis, job_id), 5, "the job to finish")
    assert sink.attempts[address] == 3
    assert len(sink.to(address)) == 1
    job = Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer)
    assert job.retries_left == 1


@pytest.mark.usefixtures("worker")
async def test_exhausted_retries_leave_the_job_failed_and_requeueable(
    services: Services, make_org: MakeOrg, sink: Sink, rq_redis: Redis, enqueuer: NotificationEmails
) -> None:
    crew = await make_crew(services, None, make_org)
    address = crew.emails["colleague"]
    notification_id = await _notification(services, crew, "colleague")
    job_id = NOTIFICATION_EMAIL.job_id(notification_id)
    failed = FailedJobRegistry(HIGH, connection=rq_redis, serializer=JSONSerializer)
    # Given a server that keeps refusing
    sink.refusals[address] = 100
    assert enqueuer.enqueue_all([notification_id]) == 1
    # Then after the first attempt and 3 retries the job is in the failed registry, with the reason
    await until(lambda: job_id in failed.get_job_ids(), 25, "the job to fail")
    assert sink.attempts[address] == 4
    assert sink.to(address) == []
    job = Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer)
    assert job.retries_left == 0
    result = job.latest_result()
    assert result is not None
    assert "451" in (result.exc_string or "")
    # And once the server accepts again, requeueing it from the registry delivers it
    sink.refusals[address] = 0
    failed.requeue(job_id)
    await until(lambda: bool(sink.to(address)), 10, "the requeued email")
    assert len(sink.to(address)) == 1


@pytest.mark.usefixtures("worker")
async def test_a_deactivated_recipient_gets_no_email(
    services: Services, make_org: MakeOrg, sink: Sink, rq_redis: Redis, enqueuer: NotificationEmails
) -> None:
    crew = await make_crew(services, None, make_org)
    notification_id = await _notification(services, crew, "gone")
    assert enqueuer.enqueue_all([notification_id]) == 1
    job_id = NOTIFICATION_EMAIL.job_id(notification_id)
    await until(lambda: finished(rq_redis, job_id), 10, "the job to finish")
    assert Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer).return_value() == SKIPPED
    assert sink.attempts[crew.emails["gone"]] == 0


@pytest.mark.usefixtures("worker")
async def test_a_recipient_removed_from_the_project_since_gets_no_email(
    services: Services, make_org: MakeOrg, sink: Sink, rq_redis: Redis, enqueuer: NotificationEmails
) -> None:
    # Given a notification for the colleague, who then leaves the task's project
    crew = await make_crew(services, None, make_org)
    notification_id = await _notification(services, crew, "colleague")
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            delete(ProjectMember).where(
                ProjectMember.project_id == crew.project_id, ProjectMember.user_id == crew.ids["colleague"]
            )
        )
    # When its email job runs
    assert enqueuer.enqueue_all([notification_id]) == 1
    job_id = NOTIFICATION_EMAIL.job_id(notification_id)
    await until(lambda: finished(rq_redis, job_id), 10, "the job to finish")
    # Then nothing about the task is sent
    assert Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer).return_value() == SKIPPED
    assert sink.attempts[crew.emails["colleague"]] == 0


@pytest.mark.usefixtures("worker")
async def test_a_recipient_refused_for_good_is_not_retried(
    services: Services, make_org: MakeOrg, sink: Sink, rq_redis: Redis, enqueuer: NotificationEmails
) -> None:
    # Given a receiving server that answers 550 (no such user) for the colleague
    crew = await make_crew(services, None, make_org)
    sink.rejections.add(crew.emails["colleague"])
    notification_id = await _notification(services, crew, "colleague")
    # When the email job runs
    assert enqueuer.enqueue_all([notification_id]) == 1
    job_id = NOTIFICATION_EMAIL.job_id(notification_id)
    await until(lambda: finished(rq_redis, job_id), 10, "the job to finish")
    # Then it ends at once as rejected: one attempt, no retries waiting, nothing in the failed registry
    job = Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer)
    assert job.return_value() == REJECTED
    await asyncio.sleep(4 * BASE_SECONDS)  # longer than a first retry would wait
    assert sink.attempts[crew.emails["colleague"]] == 1
    assert job_id not in FailedJobRegistry(HIGH, connection=rq_redis)
