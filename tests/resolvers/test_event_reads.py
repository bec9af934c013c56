"""Reads shared by the subscribers of one event: one read per message and process, whatever the
number of subscribers, and the per-subscriber decision still made against each one's own scope."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from persistence import snapshots
from persistence.enums import OrgRole
from persistence.models import Project, Task, User
from persistence.pubsub import Message
from persistence.queries.projects import project_audiences
from persistence.queries.scope import Scope, sees_project, visible_project
from persistence.snapshots import event_snapshots
from persistence.statements import count_statements
from resolvers.auth import authenticate_bearer, session_cache_key
from resolvers.context import Services
from resolvers.errors import Unauthenticated
from resolvers.event_reads import EventReads, event_reads
from tests.conftest import GraphQLClient

SUBSCRIBERS = 12


async def _a_task(services: Services, organization_id: int) -> Any:
    tasks = Task.__table__
    async with services.db.read() as conn:
        return (
            await conn.execute(
                select(tasks.c.id, tasks.c.project_id, tasks.c.organization_id)
                .where(tasks.c.organization_id == organization_id, tasks.c.deleted_at.is_(None))
                .limit(1)
            )
        ).one()


async def test_every_subscriber_of_a_message_shares_one_read(services: Services, make_org: Any) -> None:
    org = await make_org()
    task = await _a_task(services, org.organization_id)
    reads = event_reads(Message({"task_id": task.id}), services)
    with count_statements() as counter:
        snapshots = await asyncio.gather(
            *(reads.snapshot(org.organization_id, task.project_id, task.id) for _ in range(SUBSCRIBERS))
        )
        # A late subscriber of the same message finds the read done.
        late = await reads.snapshot(org.organization_id, task.project_id, task.id)
    assert counter.count == 2, counter.statements  # the audience and the task, once
    assert all(s is snapshots[0] for s in [*snapshots, late])
    assert snapshots[0].task is not None
    assert snapshots[0].task.id == task.id
    assert snapshots[0].audience is not None
    assert snapshots[0].audience.organization_id == org.organization_id


async def test_the_message_keeps_its_reads_and_another_message_reads_again(
    services: Services, make_org: Any
) -> None:
    message = Message({})
    assert event_reads(message, services) is event_reads(message, services)
    assert event_reads(Message({}), services) is not event_reads(message, services)


async def test_a_subscriber_that_goes_away_does_not_cancel_the_others_read(
    services: Services, make_org: Any
) -> None:
    org = await make_org()
    task = await _a_task(services, org.organization_id)
    reads = EventReads(services)
    leaving = asyncio.ensure_future(reads.snapshot(org.organization_id, task.project_id, task.id))
    staying = asyncio.ensure_future(reads.snapshot(org.organization_id, task.project_id, task.id))
    await asyncio.sleep(0)
    leaving.cancel()
    snapshot = await staying
    assert snapshot.task is not None
    assert snapshot.task.id == task.id


async def test_a_task_of_another_organization_is_not_read(services: Services, make_org: Any) -> None:
    mine, theirs = await make_org(), await make_org()
    foreign = await _a_task(services, theirs.organization_id)
    snapshot = await EventReads(services).snapshot(mine.organization_id, foreign.project_id, foreign.id)
    assert snapshot.task is None  # the audience names the other organization: nobody of mine sees it
    assert snapshot.audience is not None
    assert snapshot.audience.organization_id == theirs.organization_id


async def test_sessions_of_a_message_are_checked_in_one_batch(
    services: Services, make_org: Any, gql: GraphQLClient
) -> None:
    org = await make_org()
    users = User.__table__
    async with services.db.read() as conn:
        emails = list(
            (
                await conn.execute(
                    select(users.c.email).where(users.c.organization_id == org.organization_id).limit(4)
                )
            ).scalars()
        )
    tokens = [await gql.login(email) for email in emails]
    principals = [await authenticate_bearer(services, token) for token in tokens]
    # Every session a miss: the batch reads them all in one statement.
    await services.cache.delete(*(session_cache_key(p.session_id) for p in principals))
    reads = EventReads(services)
    with count_statements() as counter:
        entries = await asyncio.gather(*(reads.session_entry(p.session_id) for p in principals))
    assert counter.count == 1, counter.statements
    assert [e["user"]["id"] for e in entries] == [p.user_id for p in principals]
    with count_statements() as counter:
        await EventReads(services).session_entry(principals[0].session_id)  # now cached: Redis only
    assert counter.count == 0
    try:
        await reads.session_entry("no-such-session")
    except Unauthenticated:
        pass
    else:
        raise AssertionError("an unknown session must not authenticate")


async def test_the_python_visibility_rule_agrees_with_the_sql_one(services: Services, make_org: Any) -> None:
    """``sees_project`` decides from one shared read what ``visible_project`` decides in SQL."""
    org, other = await make_org(), await make_org()
    users, projects = User.__table__, Project.__table__
    reads = EventReads(services)
    async with services.db.read() as conn:
        people = (
            await conn.execute(
                select(users.c.id, users.c.organization_id, users.c.role).where(
                    users.c.organization_id.in_([org.organization_id, other.organization_id])
                )
            )
        ).all()
        project_ids = org.project_ids + other.project_ids[:1]
        outcomes: set[bool] = set()
        for person in people:
            scope = Scope(
                person.organization_id, person.id, OrgRole(person.role) in (OrgRole.OWNER, OrgRole.ADMIN)
            )
            in_sql = set(
                (
                    await conn.execute(
                        select(projects.c.id).where(
                            projects.c.id.in_(project_ids),
                            projects.c.organization_id == scope.organization_id,
                            visible_project(scope, projects.c.id),
                        )
                    )
                ).scalars()
            )
            for project_id in project_ids:
                audience = (await reads.snapshot(org.organization_id, project_id, None)).audience
                assert audience is not None
                seen = sees_project(scope, audience)
                assert seen == (project_id in in_sql), (person, project_id)
                outcomes.add(seen)
    # Both answers occurred, so the comparison could have failed either way.
    assert outcomes == {True, False}


async def test_a_snapshot_the_relay_carried_costs_the_subscribers_no_read(
    services: Services, make_org: Any
) -> None:
    org = await make_org()
    task = await _a_task(services, org.organization_id)
    async with services.db.read() as conn:
        events = [
            SimpleNamespace(
                id=1, organization_id=org.organization_id, project_id=task.project_id, task_id=task.id
            )
        ]
        audiences = await project_audiences(conn, [task.project_id])
        carried = (await event_snapshots(conn, events, audiences))[1]
    message = Message(
        orjson.loads(orjson.dumps({"project_id": task.project_id, "task_id": task.id, "snapshot": carried}))
    )
    with count_statements() as counter:
        snapshot = await event_reads(message, services).snapshot(
            org.organization_id, task.project_id, task.id
        )
    assert counter.count == 0
    read = await EventReads(services).snapshot(org.organization_id, task.project_id, task.id)
    assert snapshot.audience == read.audience
    assert snapshot.task is not None
    assert read.task is not None
    assert dict(snapshot.task._mapping) == dict(read.task._mapping)


async def test_without_a_carried_snapshot_the_subscribers_read_it(
    services: Services, make_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project with more members than a message should carry: the relay leaves it out."""
    org = await make_org()
    task = await _a_task(services, org.organization_id)
    monkeypatch.setattr(snapshots, "MAX_CARRIED_MEMBERS", 0)
    async with services.db.read() as conn:
        events = [
            SimpleNamespace(
                id=1, organization_id=org.organization_id, project_id=task.project_id, task_id=task.id
            )
        ]
        audiences = await project_audiences(conn, [task.project_id])
        assert await event_snapshots(conn, events, audiences) == {}
    message = Message({"project_id": task.project_id, "task_id": task.id, "snapshot": None})
    with count_statements() as counter:
        snapshot = await event_reads(message, services).snapshot(
            org.organization_id, task.project_id, task.id
        )
    assert counter.count == 2
    assert snapshot.task is not None
