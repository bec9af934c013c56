"""Due-soon emails: the scan enqueues one job per (task, assignee, due date) on the suite's Redis, a real
worker process sends it to the SMTP sink. Repeated scans send nothing twice; a new due date sends again;
closed, deleted, far-off tasks and assignees who may not read the task (or are deactivated) get none.

The scan runs here in-process with a 48-hour window (tasks due today or tomorrow) and batches of two,
so it pages; the cron test (test_schedule.py) runs it as the scheduler's job.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import update

from jobs.due_soon import deliver_due_soon_email, due_moment, due_soon_job_id, enqueue_due_soon
from jobs.queues import HIGH, enqueue_once, queue
from persistence.compiled.ids import encode_global_id
from persistence.enums import OrgRole, TaskStatus
from persistence.models import Task
from resolvers.context import Services
from tests.conftest import make_settings
from tests.jobs.people import office
from tests.jobs.sink import Sink
from tests.jobs.waiting import finished, until
from tests.jobs.worker_process import PUBLIC_BASE_URL

pytestmark = pytest.mark.usefixtures("worker")


def _epoch(day: date) -> int:
    return int(due_moment(day).timestamp())


async def test_a_task_coming_due_is_emailed_once_and_again_for_a_new_due_date(
    services: Services, sink: Sink, rq_redis: Redis
) -> None:
    settings = make_settings(due_soon_window_seconds=48 * 3600, scan_batch_size=2)
    place = await office(services, "due")
    ann, ann_email = await place.user("ann")
    today = datetime.now(UTC).date()
    task_id = await place.task("Ship <the> release", assignee_id=ann, reporter_id=ann, due=today)
    # Given a task due today, assigned to a member of its project
    # When the scan runs twice
    now = datetime.now(UTC)
    assert await enqueue_due_soon(services.db, settings, now) >= 1
    await enqueue_due_soon(services.db, settings, now)
    job_id = due_soon_job_id(task_id, ann, _epoch(today))
    await until(lambda: finished(rq_redis, job_id), 15, "the due-soon email job")
    # Then exactly one email went out, about that task, with both bodies and a stable Message-ID
    [message] = sink.to(ann_email)
    assert message["Message-ID"] == f"<due-soon.{task_id}.{ann}.{_epoch(today)}@mail.taskql.test>"
    assert message["Subject"] == f"[Project <{place.slug}>] Due today: Ship <the> release"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "Ship <the> release" in plain.get_content()
    assert "Ship &lt;the&gt; release" in html.get_content()
    assert "<the>" not in html.get_content()
    # and a link to the task's page, from the public base URL
    link = f"{PUBLIC_BASE_URL}/tasks/{encode_global_id('Task', task_id)}"
    assert f"    {link}" in plain.get_content().splitlines()
    assert f'<a href="{link}">' in html.get_content()
    # When the due date moves to tomorrow and the scan runs again
    tomorrow = today + timedelta(days=1)
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(Task).where(Task.id == task_id).values(due_date=tomorrow))
    await enqueue_due_soon(services.db, settings, datetime.now(UTC))
    moved = due_soon_job_id(task_id, ann, _epoch(tomorrow))
    await until(lambda: finished(rq_redis, moved), 15, "the email for the new due date")
    # Then a second email went out, under the new due date's Message-ID
    first, second = sink.to(ann_email)
    assert first["Message-ID"] != second["Message-ID"]
    assert second["Message-ID"] == f"<due-soon.{task_id}.{ann}.{_epoch(tomorrow)}@mail.taskql.test>"
    assert "Due tomorrow" in second["Subject"]


async def test_closed_deleted_far_and_unreadable_tasks_are_not_emailed(
    services: Services, sink: Sink, rq_redis: Redis
) -> None:
    settings = make_settings(due_soon_window_seconds=48 * 3600, scan_batch_size=2)
    place = await office(services, "skip")
    today = datetime.now(UTC).date()
    now = datetime.now(UTC)
    reporter, _ = await place.user("reporter")
    cases: dict[str, tuple[int, str, int, date]] = {}

    async def case(name: str, task: dict[str, object], **access: object) -> None:
        user_id, email = await place.user(name, **access)  # type: ignore[arg-type]
        due = task.pop("due", today)
        task_id = await place.task(f"{name} task", assignee_id=user_id, reporter_id=reporter, due=due, **task)  # type: ignore[arg-type]
        cases[name] = (task_id, email, user_id, due)  # type: ignore[assignment]

    # Given tasks due today that are closed or deleted, one due later, and assignees who may not read
    # theirs (not a member of the project) or are deactivated
    await case("done", {"status": TaskStatus.DONE, "completed_at": now})
    await case("canceled", {"status": TaskStatus.CANCELED})
    await case("deleted", {"deleted_at": now})
    await case("far", {"due": today + timedelta(days=5)})
    await case("outsider", {}, member=False)
    await case("deactivated", {}, deactivated=True)
    # An admin of the organization reads every project without being a member: they do get one
    admin, admin_email = await place.user("admin", member=False, role=OrgRole.ADMIN)
    admin_task = await place.task("admin task", assignee_id=admin, reporter_id=reporter, due=today)
    # When the scan runs
    await enqueue_due_soon(services.db, settings, now)
    await until(lambda: finished(rq_redis, due_soon_job_id(admin_task, admin, _epoch(today))), 15, "admin's")
    assert len(sink.to(admin_email)) == 1
    # Then none of them got a job or an email
    for name, (task_id, email, user_id, due) in cases.items():
        assert not Job.exists(due_soon_job_id(task_id, user_id, _epoch(due)), connection=rq_redis), name
        assert sink.to(email) == [], name


async def test_the_job_skips_a_task_done_after_the_scan(
    services: Services, sink: Sink, rq_redis: Redis
) -> None:
    place = await office(services, "late")
    bob, bob_email = await place.user("bob")
    today = datetime.now(UTC).date()
    task_id = await place.task("Finish it", assignee_id=bob, reporter_id=bob, due=today)
    # Given the scan's job, queued while the worker is paused by a task done in between
    job_id = due_soon_job_id(task_id, bob, _epoch(today))
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(Task).where(Task.id == task_id).values(status=TaskStatus.DONE))
    enqueue_once(
        queue(HIGH, rq_redis),
        deliver_due_soon_email,
        (task_id, bob, _epoch(today)),
        job_id=job_id,
        settings=make_settings(),
        keep_seconds=600,
        description="test",
    )
    await until(lambda: finished(rq_redis, job_id), 15, "the job")
    # Then it ends as skipped and sends nothing
    assert Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer).return_value() == "skipped"
    assert sink.to(bob_email) == []
