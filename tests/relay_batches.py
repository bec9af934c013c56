"""Batches of events for the relay's tests, as the mutations leave them: committed, unpublished."""

from __future__ import annotations

from sqlalchemy import insert

from persistence.models import Comment
from persistence.models.base import utcnow
from persistence.queries.events import NewEvent, insert_event
from resolvers.context import Services
from tests.notification_crew import Crew


async def unpublished_batch(services: Services, crew: Crew, assignments: int, comments: int) -> list[int]:
    """Their ids: ``assignments`` of the crew's task to the colleague by the author, then ``comments``
    by the author that mention the reader and the admin, each comment with its event, in one unit of
    work."""
    ids: list[int] = []
    body = f"@{crew.emails['reader']} @{crew.emails['admin']} have a look"
    async with services.db.unit_of_work() as conn:
        for _ in range(assignments):
            event = NewEvent(
                crew.org.organization_id,
                crew.project_id,
                crew.task_id,
                crew.ids["author"],
                "task.assigned",
                {"changes": {"assignee_id": crew.ids["colleague"]}},
            )
            ids.append((await insert_event(conn, event, utcnow()))[0])
        for _ in range(comments):
            now = utcnow()
            values = dict(task_id=crew.task_id, author_id=crew.ids["author"], body=body, created_at=now)
            key = (await conn.execute(insert(Comment).values(**values, updated_at=now))).inserted_primary_key
            assert key is not None
            event = NewEvent(
                crew.org.organization_id,
                crew.project_id,
                crew.task_id,
                crew.ids["author"],
                "task.commented",
                {"comment_id": int(key[0]), "action": "created"},
            )
            ids.append((await insert_event(conn, event, now))[0])
    return ids
