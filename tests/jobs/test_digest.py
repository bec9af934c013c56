"""The weekly digest: the scan enqueues one job per active user and ISO week; a real worker sends each
user their week (open tasks with the first ten titles, due first; overdue; completed last week; unread
notifications) and nothing to a user with nothing to report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer

from jobs.digest import digest_job_id, enqueue_digests, iso_week, week_start
from persistence.enums import TaskStatus
from persistence.queries.reminders import digest_for
from persistence.statements import count_statements
from resolvers.context import Services
from tests.conftest import make_settings
from tests.jobs.people import office
from tests.jobs.sink import Sink
from tests.jobs.waiting import finished, until
from tests.notification_crew import add_notifications

pytestmark = pytest.mark.usefixtures("worker")


async def test_each_user_gets_their_week_once(services: Services, sink: Sink, rq_redis: Redis) -> None:
    place = await office(services, "digest")
    cara, cara_email = await place.user("cara")
    idle, idle_email = await place.user("idle")
    outsider, outsider_email = await place.user("outsider", member=False)
    gone, _ = await place.user("gone", deactivated=True)
    now = datetime.now(UTC)
    today, week = now.date(), iso_week(now.date())
    start = week_start(week)
    # Given Cara has twelve open tasks (one overdue, one undated), one she completed last week, one she
    # completed this week, a deleted one, and two unread notifications (one read)
    for number in range(10):
        await place.task(
            f"task {number:02}", assignee_id=cara, reporter_id=cara, due=today + timedelta(days=number + 1)
        )
    await place.task("<late> one", assignee_id=cara, reporter_id=cara, due=today - timedelta(days=2))
    undated = await place.task("undated", assignee_id=cara, reporter_id=cara)
    done = TaskStatus.DONE
    await place.task(
        "shipped", assignee_id=cara, reporter_id=cara, completed_at=start - timedelta(days=2), status=done
    )
    await place.task(
        "just now", assignee_id=cara, reporter_id=cara, completed_at=start + timedelta(minutes=1), status=done
    )
    await place.task("deleted", assignee_id=cara, reporter_id=cara, due=today, deleted_at=now)
    await add_notifications(
        services, place.organization_id, cara, undated, idle, 3, project_id=place.project_id, read_every=3
    )
    # And the outsider is assigned a task in a project they may not read (they have nothing else)
    await place.task("secret", assignee_id=outsider, reporter_id=cara, due=today)
    settings = make_settings(scan_batch_size=2)
    # When the scan runs twice in the week
    assert await enqueue_digests(services.db, settings, week) >= 3
    await enqueue_digests(services.db, settings, week)
    for job_id in [digest_job_id(user_id, week) for user_id in (cara, idle, outsider)]:
        await until(partial(finished, rq_redis, job_id), 15, job_id)
    assert not Job.exists(digest_job_id(gone, week), connection=rq_redis)
    # Then Cara got one digest, the others none (their jobs ended skipped)
    [message] = sink.to(cara_email)
    assert sink.to(idle_email) == []
    assert sink.to(outsider_email) == []
    skipped = Job.fetch(digest_job_id(idle, week), connection=rq_redis, serializer=JSONSerializer)
    assert skipped.return_value() == "skipped"
    assert message["Message-ID"] == f"<digest.{cara}.{week}@mail.taskql.test>"
    assert message["Subject"] == "Your taskql week: 12 open tasks assigned to you, 1 overdue"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    text = plain.get_content()
    assert "- 1 task you completed last week" in text
    assert "- 2 unread notifications" in text
    # The first ten open tasks, due first (the overdue one leads), then how many more
    listed = [line.strip()[2:] for line in text.splitlines() if line.startswith("  * ")]
    assert len(listed) == 10
    assert listed[0] == f"<late> one (due {(today - timedelta(days=2)).isoformat()})"
    assert listed[1].startswith("task 00 (due ")
    assert listed[9].startswith("task 08 (due ")
    assert "and 2 more" in text
    assert "&lt;late&gt; one" in html.get_content()
    assert "<late>" not in html.get_content()


async def test_a_digest_takes_three_statements_whatever_its_size(services: Services) -> None:
    place = await office(services, "digestcount")
    now = datetime.now(UTC)
    today, start = now.date(), week_start(iso_week(now.date()))
    counts = []
    for size in (1, 15):
        user_id, _ = await place.user(f"user{size}")
        for number in range(size):
            await place.task(f"t{number}", assignee_id=user_id, reporter_id=user_id, due=today)
        async with services.db.read() as conn:
            with count_statements() as counter:
                digest = await digest_for(
                    conn,
                    user_id,
                    today=today,
                    completed_since=start - timedelta(days=7),
                    completed_before=start,
                )
        assert digest is not None
        assert (digest.open_count, len(digest.titles)) == (size, min(size, 10))
        counts.append(counter.count)
    # The user with their counts, the first titles, the unread count
    assert counts == [3, 3]
    # Nobody assigned anything: no titles to read
    empty, _ = await place.user("empty")
    async with services.db.read() as conn:
        with count_statements() as counter:
            digest = await digest_for(conn, empty, today=today, completed_since=start, completed_before=start)
    assert digest is not None
    assert digest.is_empty
    assert counter.count == 2
