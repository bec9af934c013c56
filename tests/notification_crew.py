"""People around one task, for the notification tests: who may be notified and who must not be."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from persistence.enums import NotificationKind, OrgRole, ProjectRole
from persistence.models import Comment, Event, Notification, ProjectMember, User
from persistence.models.base import utcnow
from persistence.seed import SeededOrganization
from resolvers.context import Services
from tests.conftest import PASSWORD, GraphQLClient

MakeOrg = Callable[..., Awaitable[SeededOrganization]]
_numbers = itertools.count(1)
_notifications = Notification.__table__


@dataclass
class Crew:
    """An organization's first project and its first task, with: an ``author`` and a ``colleague``
    (editors), a ``reader`` (project viewer), an ``outsider`` (in the organization, not the project),
    ``gone`` (an editor, deactivated), ``admin`` (organization admin, in no project) and
    ``foreigner`` (another organization's user)."""

    org: SeededOrganization
    project_id: int
    task_id: int
    # The foreigner's organization.
    other: SeededOrganization
    ids: dict[str, int] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    clients: dict[str, GraphQLClient] = field(default_factory=dict)


async def _user(
    services: Services,
    organization_id: int,
    email: str,
    role: OrgRole,
    project: tuple[int, ProjectRole] | None,
    *,
    deactivated: bool = False,
) -> int:
    password_hash = await services.passwords.hash(PASSWORD)
    async with services.db.unit_of_work() as conn:
        values = dict(
            organization_id=organization_id,
            email=email,
            name=email.split("@", maxsplit=1)[0].title(),
            password_hash=password_hash,
            role=role,
            is_operator=False,
            deactivated_at=utcnow() if deactivated else None,
        )
        key = (await conn.execute(insert(User).values(**values))).inserted_primary_key
        assert key is not None
        user_id = int(key[0])
        if project is not None:
            member = {"project_id": project[0], "user_id": user_id, "role": project[1]}
            await conn.execute(insert(ProjectMember).values(**member))
    return user_id


async def make_crew(services: Services, gql: GraphQLClient | None, make_org: MakeOrg) -> Crew:
    """The crew, each signed in through ``gql`` (None: nobody signs in)."""
    org, other = await make_org(), await make_org()
    crew = Crew(org, org.project_ids[0], org.task_ids[0], other)
    number = next(_numbers)
    people: dict[str, tuple[int, OrgRole, tuple[int, ProjectRole] | None, bool]] = {
        "author": (org.organization_id, OrgRole.MEMBER, (crew.project_id, ProjectRole.EDITOR), False),
        "colleague": (org.organization_id, OrgRole.MEMBER, (crew.project_id, ProjectRole.EDITOR), False),
        "reader": (org.organization_id, OrgRole.MEMBER, (crew.project_id, ProjectRole.VIEWER), False),
        "outsider": (org.organization_id, OrgRole.MEMBER, None, False),
        "gone": (org.organization_id, OrgRole.MEMBER, (crew.project_id, ProjectRole.EDITOR), True),
        "admin": (org.organization_id, OrgRole.ADMIN, None, False),
        "foreigner": (other.organization_id, OrgRole.OWNER, None, False),
    }
    for name, (organization_id, role, project, deactivated) in people.items():
        email = f"{name}{number}-{org.organization_id}@notify.test"
        crew.emails[name] = email
        crew.ids[name] = await _user(services, organization_id, email, role, project, deactivated=deactivated)
        if gql is not None and not deactivated:
            crew.clients[name] = gql.as_user(await gql.login(email))
    if gql is not None:
        crew.clients["owner"] = gql.as_user(await gql.login(org.owner_email))
    crew.ids["owner"] = org.user_ids[0]
    return crew


async def notifications_of(services: Services, user_id: int) -> list[Any]:
    """Every notification row of the user, oldest first."""
    async with services.db.read() as conn:
        statement = (
            select(_notifications).where(_notifications.c.user_id == user_id).order_by(_notifications.c.id)
        )
        return list((await conn.execute(statement)).all())


async def notifications_of_events(services: Services, event_ids: Sequence[int]) -> list[Any]:
    """The notifications as derived (without when their jobs were enqueued, which a hand-over sets)."""
    columns = [column for column in _notifications.c if column.name != "jobs_enqueued_at"]
    async with services.db.read() as conn:
        statement = (
            select(*columns).where(_notifications.c.event_id.in_(event_ids)).order_by(_notifications.c.id)
        )
        return list((await conn.execute(statement)).all())


async def last_event_id(services: Services, task_id: int) -> int:
    events = Event.__table__
    async with services.db.read() as conn:
        statement = (
            select(events.c.id).where(events.c.task_id == task_id).order_by(events.c.id.desc()).limit(1)
        )
        return int((await conn.execute(statement)).scalar_one())


async def until_published(services: Services, event_id: int, within: float = 5.0) -> None:
    """Until the suite's relay has published the event (and so derived its notifications)."""
    events = Event.__table__
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with services.db.read() as conn:
            published = await conn.scalar(select(events.c.published_at).where(events.c.id == event_id))
        if published is not None:
            return
        assert asyncio.get_running_loop().time() < deadline, f"event {event_id} was not published"
        await asyncio.sleep(0.02)


async def add_notifications(
    services: Services,
    organization_id: int,
    user_id: int,
    task_id: int,
    actor_id: int,
    count: int,
    *,
    project_id: int,
    read_every: int = 0,
    comment_id: int | None = None,
) -> list[int]:
    """``count`` notifications for ``user_id`` as the relay would have made them (each with its own,
    already published event), oldest first; every ``read_every``-th one is read already."""
    now = utcnow()
    events = Event.__table__
    ids: list[int] = []
    async with services.db.unit_of_work() as conn:
        highest = await conn.scalar(
            select(events.c.sequence)
            .where(events.c.project_id == project_id)
            .order_by(events.c.sequence.desc())
        )
        for i in range(count):
            created: datetime = now - timedelta(seconds=count - i)
            event = dict(
                organization_id=organization_id,
                project_id=project_id,
                task_id=task_id,
                actor_id=actor_id,
                type="task.assigned",
                sequence=(highest or 0) + i + 1,
                payload={"changes": {"assignee_id": user_id}},
                created_at=created,
                published_at=now,
            )
            event_key = (await conn.execute(insert(Event).values(**event))).inserted_primary_key
            assert event_key is not None
            kind = NotificationKind.MENTIONED if comment_id is not None else NotificationKind.ASSIGNED
            row = dict(
                organization_id=organization_id,
                user_id=user_id,
                kind=kind,
                event_id=int(event_key[0]),
                task_id=task_id,
                comment_id=comment_id,
                actor_id=actor_id,
                created_at=created,
                read_at=now if read_every and i % read_every == 0 else None,
            )
            key = (await conn.execute(insert(Notification).values(**row))).inserted_primary_key
            assert key is not None
            ids.append(int(key[0]))
    return ids


async def add_filled_notifications(services: Services, org: Any, n: int) -> None:
    """For the statement budget (``org`` is a ``tests.factories.FilledOrg``): n notifications for its
    viewer, one per board task, from its other user; every other one a mention of the task's comment."""
    comments = Comment.__table__
    async with services.db.read() as conn:
        statement = select(comments.c.task_id, comments.c.id).where(
            comments.c.task_id.in_(org.board_task_ids)
        )
        comment_of = dict((await conn.execute(statement)).all())
    for position, task_id in enumerate(org.board_task_ids[:n]):
        await add_notifications(
            services,
            org.organization_id,
            org.viewer_id,
            task_id,
            org.other_user_id,
            1,
            project_id=org.project_ids[0],
            read_every=2 if position % 3 == 0 else 0,
            comment_id=comment_of[task_id] if position % 2 else None,
        )
