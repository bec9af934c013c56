"""Data cleanup: what is past its time goes, in bounded batches, and what is not stays.

The purges run in-process against the suite's MariaDB with batches of 2 and at most 2 batches per kind
and run (so a run stops with rows left, and the next run takes them); the cleanup job itself runs once
through a real worker. The purges are global, so each test first drains what earlier tests left.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from jobs.cleanup import cleanup, run_cleanup
from jobs.queues import LOW, queue
from persistence.enums import AttemptOutcome, DeliveryStatus
from persistence.models import (
    Attachment,
    AuthSession,
    Comment,
    Event,
    Label,
    Notification,
    PasswordReset,
    Task,
    TaskLabel,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from persistence.queries.cleanup import purge_deleted_tasks, purge_expired_sessions
from persistence.queries.event_log import project_event_head
from persistence.queries.events import NewEvent, insert_task_event
from persistence.settings import Settings
from persistence.statements import count_statements
from persistence.storage import FileStore
from resolvers.context import Services
from tests.conftest import make_settings
from tests.jobs.people import Office, office
from tests.jobs.waiting import finished, until
from tests.notification_crew import add_notifications

DAY = timedelta(days=1)


def _settings(root: Path) -> Settings:
    return make_settings(upload_root=str(root), cleanup_batch_size=2, cleanup_max_batches=2)


async def _drain(services: Services, root: Path) -> None:
    """Purges what other tests left behind, so the counts below are this test's own."""
    await cleanup(
        services.db, make_settings(upload_root=str(root), cleanup_max_batches=1000), datetime.now(UTC)
    )


async def _count(services: Services, model: Any, *conditions: Any) -> int:
    async with services.db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


async def _task_with_everything(
    place: Office, store: FileStore, user_id: int, deleted_at: datetime
) -> tuple[int, Path]:
    """A deleted task with a comment, a label, an attachment (and its file), a notified event and an
    event delivered to a webhook."""
    services = place.services
    task_id = await place.task("gone", assignee_id=user_id, reporter_id=user_id, deleted_at=deleted_at)
    key = FileStore.new_key()
    path = store.path_of(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"bytes")
    async with services.db.unit_of_work() as conn:
        label = (
            await conn.execute(insert(Label).values(project_id=place.project_id, name=secrets.token_hex(4)))
        ).inserted_primary_key
        assert label is not None
        await conn.execute(insert(TaskLabel).values(task_id=task_id, label_id=label[0]))
        await conn.execute(insert(Comment).values(task_id=task_id, author_id=user_id, body="c"))
        await conn.execute(
            insert(Attachment).values(
                task_id=task_id,
                uploader_id=user_id,
                filename="f.txt",
                content_type="text/plain",
                size_bytes=5,
                sha256="0" * 64,
                storage_key=key,
            )
        )
        event_id = await _id(conn, insert(Event).values(_event(place, task_id, deleted_at)))
        await _delivered(conn, await _endpoint(conn, place, user_id), event_id, deleted_at)
    await add_notifications(
        services, place.organization_id, user_id, task_id, user_id, 1, project_id=place.project_id
    )
    return task_id, path


async def _id(conn: AsyncConnection, statement: Any) -> int:
    key = (await conn.execute(statement)).inserted_primary_key
    assert key is not None
    return int(key[0])


def _event(place: Office, task_id: int | None, at: datetime) -> dict[str, Any]:
    return dict(
        organization_id=place.organization_id,
        project_id=place.project_id,
        task_id=task_id,
        type="task.updated",
        payload={},
        created_at=at,
        published_at=at,
    )


async def _endpoint(conn: AsyncConnection, place: Office, user_id: int) -> int:
    values = dict(
        organization_id=place.organization_id,
        url="https://hooks.example.com/taskql",
        secret=secrets.token_hex(16),
        event_types=["task.updated"],
        created_by=user_id,
    )
    return await _id(conn, insert(WebhookEndpoint).values(values))


async def _delivered(
    conn: AsyncConnection,
    endpoint_id: int,
    event_id: int,
    at: datetime,
    status: DeliveryStatus = DeliveryStatus.SUCCEEDED,
) -> int:
    """A delivery of the event to the endpoint, last changed at ``at``, with one attempt."""
    delivery = dict(
        endpoint_id=endpoint_id,
        event_id=event_id,
        event_type="task.updated",
        status=status,
        attempts=1,
        created_at=at,
        updated_at=at,
    )
    delivery_id = await _id(conn, insert(WebhookDelivery).values(delivery))
    attempt = dict(
        delivery_id=delivery_id,
        number=1,
        started_at=at,
        duration_ms=5,
        response_code=200,
        outcome=AttemptOutcome.SUCCESS,
    )
    await conn.execute(insert(WebhookAttempt).values(attempt))
    return delivery_id


async def test_deleted_tasks_past_retention_go_with_their_rows_and_files(
    services: Services, tmp_path: Path
) -> None:
    await _drain(services, tmp_path)
    settings, store = _settings(tmp_path), FileStore(tmp_path)
    now = datetime.now(UTC)
    place = await office(services, "purge")
    user, _ = await place.user("keeper")
    # Given five tasks deleted 31 days ago (with comments, labels, files, events, notifications), one
    # deleted 29 days ago, and a live subtask of a purged task
    old = [await _task_with_everything(place, store, user, now - 31 * DAY) for _ in range(5)]
    recent_id, recent_file = await _task_with_everything(place, store, user, now - 29 * DAY)
    child = await place.task("child", assignee_id=user, reporter_id=user, parent_id=old[0][0])
    old_ids = [task_id for task_id, _ in old]
    # When the cleanup runs (2 batches of 2 at most)
    first = await cleanup(services.db, settings, now)
    # Then it purged four, in two batches, and left the rest for the next run
    assert first["deleted_tasks"] == 4
    assert await _count(services, Task, Task.id.in_(old_ids)) == 1
    second = await cleanup(services.db, settings, now)
    assert second["deleted_tasks"] == 1
    third = await cleanup(services.db, settings, now)
    assert third["deleted_tasks"] == 0
    # With every row that hung off them, and their files
    for model in (Comment, TaskLabel, Attachment):
        assert await _count(services, model, model.task_id.in_(old_ids)) == 0
    assert await _count(services, Event, Event.task_id.in_(old_ids)) == 0
    assert await _count(services, Notification, Notification.task_id.in_(old_ids)) == 0
    old_events = select(Event.id).where(Event.task_id.in_(old_ids)).scalar_subquery()
    assert await _count(services, WebhookDelivery, WebhookDelivery.event_id.in_(old_events)) == 0
    assert not any(path.exists() for _, path in old)
    # While the recently deleted task keeps everything, and the subtask stays, without a parent
    assert await _count(services, Task, Task.id == recent_id) == 1
    for model in (Comment, TaskLabel, Attachment):
        assert await _count(services, model, model.task_id == recent_id) == 1
    assert await _count(services, Notification, Notification.task_id == recent_id) == 1
    assert recent_file.exists()
    assert await _count(services, Task, Task.id == child, Task.parent_id.is_(None)) == 1


async def test_a_batch_takes_the_same_statements_for_one_task_as_for_many(
    services: Services, tmp_path: Path
) -> None:
    await _drain(services, tmp_path)
    store, now = FileStore(tmp_path), datetime.now(UTC)
    place = await office(services, "stmts")
    user, _ = await place.user("counter")
    counts = []
    for size in (1, 3):
        for _ in range(size):
            await _task_with_everything(place, store, user, now - 40 * DAY)
        async with services.db.unit_of_work() as conn:
            with count_statements() as counter:
                purged = await purge_deleted_tasks(conn, now - 30 * DAY, 10)
        assert purged.rows == size
        assert len(purged.storage_keys) == size
        counts.append(counter.count)
    # The ids, the files' keys, then one statement per table: notifications, webhook attempts and
    # deliveries, the projects' purged sequences, events, comments, label links, attachments,
    # subtasks' parent, tasks
    assert counts == [12, 12]
    async with services.db.unit_of_work() as conn:
        with count_statements() as counter:
            assert (await purge_deleted_tasks(conn, now - 30 * DAY, 10)).rows == 0
    assert counter.count == 1


async def test_a_project_s_newest_events_purged_leave_their_sequences_unused(
    services: Services, tmp_path: Path
) -> None:
    # Given a project whose newest event is about a task deleted long ago
    await _drain(services, tmp_path)
    now = datetime.now(UTC)
    place = await office(services, "sequences")
    user, _ = await place.user("numbered")
    kept = await place.task("kept", assignee_id=user, reporter_id=user)
    gone = await place.task("gone", assignee_id=user, reporter_id=user, deleted_at=now - 40 * DAY)

    def updated(task_id: int) -> NewEvent:
        return NewEvent(place.organization_id, None, task_id, user, "task.updated", {})

    async with services.db.unit_of_work() as conn:
        await insert_task_event(conn, updated(kept), now)
        _, newest = await insert_task_event(conn, updated(gone), now)
    # When the cleanup purges that task, and its events with it
    async with services.db.unit_of_work() as conn:
        assert (await purge_deleted_tasks(conn, now - 30 * DAY, 10)).rows == 1
    assert await _count(services, Event, Event.task_id == gone) == 0
    # Then the project's head is still the purged event's sequence
    async with services.db.read() as conn:
        assert await project_event_head(conn, place.project_id) == newest
    # And the next event takes the number after it, never the purged one again (a subscriber
    # whose cursor is that number would take the new event for one it has seen)
    async with services.db.unit_of_work() as conn:
        _, following = await insert_task_event(conn, updated(kept), now)
    assert following == newest + 1


async def test_expired_sessions_used_resets_and_old_idempotency_keys_go(
    services: Services, tmp_path: Path
) -> None:
    await _drain(services, tmp_path)
    settings = _settings(tmp_path)
    now = datetime.now(UTC)
    place = await office(services, "auth")
    user, _ = await place.user("sessions")
    # Given three expired sessions and a live one
    async with services.db.unit_of_work() as conn:
        for hours in (-3, -2, -1, 5):
            await conn.execute(
                insert(AuthSession).values(
                    id=secrets.token_hex(16),
                    user_id=user,
                    refresh_token_hash="0" * 64,
                    expires_at=now + timedelta(hours=hours),
                )
            )
        # A used reset, an expired one and a live one
        resets = [(now, now + DAY), (None, now - DAY), (None, now + DAY)]
        for used_at, expires_at in resets:
            await conn.execute(
                insert(PasswordReset).values(
                    user_id=user,
                    token_hash=secrets.token_hex(32),
                    nonce="n",
                    used_at=used_at,
                    expires_at=expires_at,
                )
            )
        # Events with idempotency keys: two older than the key's window (24 h), one within it
        for age in (timedelta(hours=30), timedelta(hours=25), timedelta(hours=1)):
            await conn.execute(
                insert(Event).values(
                    organization_id=place.organization_id,
                    type="project.updated",
                    payload={},
                    created_at=now - age,
                    published_at=now,
                    idempotency_key=f"user:{secrets.token_hex(16)}",
                )
            )
    # When the cleanup runs
    counts = await cleanup(services.db, settings, now)
    # Then the expired sessions (2 batches: 2 + 1), the unusable resets and the old keys went
    assert counts == {
        "deleted_tasks": 0,
        "expired_sessions": 3,
        "password_resets": 2,
        "idempotency_keys": 2,
        "webhook_logs": 0,
    }
    assert await _count(services, AuthSession, AuthSession.user_id == user) == 1
    assert await _count(services, PasswordReset, PasswordReset.user_id == user) == 1
    org_events = Event.organization_id == place.organization_id
    assert await _count(services, Event, org_events) == 3
    assert await _count(services, Event, org_events, Event.idempotency_key.is_not(None)) == 1
    async with services.db.unit_of_work() as conn:
        with count_statements() as counter:
            assert (await purge_expired_sessions(conn, now, 2)).rows == 0
    assert counter.count == 1


async def test_ended_webhook_deliveries_past_retention_go_with_their_attempts(
    services: Services, tmp_path: Path
) -> None:
    await _drain(services, tmp_path)
    now = datetime.now(UTC)
    place = await office(services, "hooks")
    user, _ = await place.user("admin")
    # Given deliveries that ended 31 days ago (succeeded, dead), one that ended 29 days ago, and one
    # still retrying since 40 days ago
    async with services.db.unit_of_work() as conn:
        endpoint = await _endpoint(conn, place, user)
        ages_and_states = [
            (31, DeliveryStatus.SUCCEEDED),
            (31, DeliveryStatus.DEAD),
            (29, DeliveryStatus.SUCCEEDED),
            (40, DeliveryStatus.RETRYING),
        ]
        ids = []
        for days, status in ages_and_states:
            event_id = await _id(conn, insert(Event).values(_event(place, None, now - days * DAY)))
            ids.append(await _delivered(conn, endpoint, event_id, now - days * DAY, status))
    # When the cleanup runs
    counts = await cleanup(services.db, _settings(tmp_path), now)
    # Then the two old ended ones went, with their attempts; the recent and the unfinished stay
    assert counts["webhook_logs"] == 2
    assert await _count(services, WebhookDelivery, WebhookDelivery.id.in_(ids)) == 2
    assert await _count(services, WebhookDelivery, WebhookDelivery.id.in_(ids[2:])) == 2
    assert await _count(services, WebhookAttempt, WebhookAttempt.delivery_id.in_(ids[:2])) == 0
    assert await _count(services, WebhookAttempt, WebhookAttempt.delivery_id.in_(ids[2:])) == 2


@pytest.mark.usefixtures("worker")
async def test_the_cleanup_job_runs_on_the_low_queue(
    services: Services, rq_redis: Redis, tmp_path: Path
) -> None:
    place = await office(services, "job")
    user, _ = await place.user("worker")
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            insert(AuthSession).values(
                id=secrets.token_hex(16),
                user_id=user,
                refresh_token_hash="0" * 64,
                expires_at=datetime.now(UTC) - DAY,
            )
        )
    job = queue(LOW, rq_redis).enqueue_call(run_cleanup, job_id=f"test-cleanup-{secrets.token_hex(4)}")
    await until(lambda: finished(rq_redis, job.id), 20, "the cleanup job")
    result = Job.fetch(job.id, connection=rq_redis, serializer=JSONSerializer).return_value()
    assert isinstance(result, dict)
    assert result["expired_sessions"] >= 1
    assert await _count(services, AuthSession, AuthSession.user_id == user) == 0
