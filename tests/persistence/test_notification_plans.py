"""EXPLAIN on MariaDB of the notification reads: the connection (and its unread filter and counts)
comes off the recipient's indexes, never a scan or a sort of the table."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from persistence.models import Event, Notification
from persistence.models.base import utcnow
from persistence.queries import notifications as queries
from persistence.queries.notifications import EVERYTHING
from persistence.queries.scope import Scope
from persistence.values import Cursor, PageRequest
from resolvers.context import Services
from tests.notification_crew import Crew, MakeOrg, make_crew
from tests.persistence.test_query_plans import INDEXED_ACCESS, captured, explain


async def _bulk(services: Services, crew: Crew, user_ids: list[int], per_user: int) -> None:
    """``per_user`` notifications for each user, half read, with their (organization-level) events."""
    now = utcnow()
    async with services.db.unit_of_work() as conn:
        first = int(await conn.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0)
        events: list[dict[str, Any]] = [
            dict(
                id=first + i + 1,
                organization_id=crew.org.organization_id,
                task_id=crew.task_id,
                actor_id=crew.ids["author"],
                type="task.assigned",
                payload={},
                created_at=now,
                published_at=now,
            )
            for i in range(len(user_ids) * per_user)
        ]
        await conn.execute(insert(Event), events)
        rows = [
            dict(
                organization_id=crew.org.organization_id,
                user_id=user_ids[i // per_user],
                kind="assigned",
                event_id=event["id"],
                task_id=crew.task_id,
                actor_id=crew.ids["author"],
                created_at=now,
                read_at=now if i % 2 else None,
            )
            for i, event in enumerate(events)
        ]
        await conn.execute(insert(Notification), rows)


@pytest.fixture(scope="module")
async def crew(services: Services, make_org_module: MakeOrg) -> Crew:
    """The colleague's 300 notifications among 3,000 of others (the optimizer's choices depend on it)."""
    crew = await make_crew(services, None, make_org_module)
    await _bulk(services, crew, [crew.ids["colleague"]], 300)
    await _bulk(services, crew, [*crew.org.user_ids[:6], crew.ids["reader"], crew.ids["admin"]], 375)
    async with services.db.read() as conn:
        await conn.execute(text("ANALYZE TABLE notifications, users, tasks, comments"))
    return crew


def _notification_reads(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in plan if row["table"] == "notifications"]


@pytest.mark.parametrize("unread_only", [False, True])
@pytest.mark.parametrize("after", [None, 10**12])
async def test_a_page_of_notifications_reads_the_recipients_index_in_order(
    services: Services, crew: Crew, unread_only: bool, after: int | None
) -> None:
    scope = Scope(crew.org.organization_id, crew.ids["colleague"], sees_all_projects=False)
    cursor = None if after is None else Cursor(value=after, id=after)
    page = PageRequest(size=20, after=cursor)
    with captured(services) as statements:
        async with services.db.read() as conn:
            result = await queries.notification_page(
                conn, scope, page, EVERYTHING, unread_only=unread_only, with_total=True, with_unread=True
            )
    assert len(result.page.rows) == 20
    statement, parameters = statements[0]
    async with services.db.read() as conn:
        plan = await explain(conn, statement, parameters)
    reads = _notification_reads(plan)
    # The page, its total and its unread count: three reads of the table, each by the recipient's index
    assert len(reads) == 3, plan
    for row in reads:
        assert row["type"] in INDEXED_ACCESS, plan
        assert str(row["key"]).startswith("ix_notifications_user_id"), plan
    # The counts read the index alone, and the page (the first, driving read) comes in index order
    assert all("Using index" in str(row["Extra"]) for row in reads[1:]), plan
    assert reads[0] == plan[0], plan
    assert "filesort" not in str(plan[0]["Extra"]), plan
