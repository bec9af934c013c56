"""What the relay reads about a batch of events, in one statement whatever the batch's size.

Each derivation (resolvers/notification_rules.py, resolvers/webhook_rules.py) first says what it
needs of the batch (``BatchNeeds``); the relay adds the audiences of the projects someone listens to
(persistence/snapshots.py) and reads everything at once: one UNION ALL of typed rows, a branch per
kind, each branch by an index (comments and endpoints by key, the readers by the user and task keys,
the members by the project). A branch nobody asked for has an empty IN list, which the database
answers without reading. The statement is built once; its lists are expanding bind parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, literal, null, select, tuple_, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from persistence.models import Comment, Project, ProjectMember, Task, User, WebhookEndpoint
from persistence.queries.scope import ProjectAudience, user_sees_project


@dataclass(frozen=True)
class BatchNeeds:
    """What to read for a batch: each field a set of keys, empty when nobody needs that kind."""

    # (comment id, task id): the comment's body, if it is live and on that task.
    comments: frozenset[tuple[int, int]] = frozenset()
    # (user id, task id): whether the user, active, may read the live task.
    readers: frozenset[tuple[int, int]] = frozenset()
    # The organizations whose active, live webhook endpoints are wanted.
    endpoint_organizations: frozenset[int] = frozenset()
    # The projects whose audience (organization and members) is wanted.
    audience_projects: frozenset[int] = frozenset()

    def __or__(self, other: BatchNeeds) -> BatchNeeds:
        return BatchNeeds(
            self.comments | other.comments,
            self.readers | other.readers,
            self.endpoint_organizations | other.endpoint_organizations,
            self.audience_projects | other.audience_projects,
        )

    def __bool__(self) -> bool:
        return bool(self.comments or self.readers or self.endpoint_organizations or self.audience_projects)


@dataclass(frozen=True)
class Endpoint:
    id: int
    organization_id: int
    event_types: Any


@dataclass(frozen=True)
class BatchReads:
    """What ``read_batch`` found for the needs it was given."""

    comment_bodies: dict[int, str] = field(default_factory=dict)
    readers: frozenset[tuple[int, int]] = frozenset()
    endpoints: tuple[Endpoint, ...] = ()
    audiences: dict[int, ProjectAudience] = field(default_factory=dict)


_comments, _tasks, _users = Comment.__table__, Task.__table__, User.__table__
_endpoints, _projects, _members = WebhookEndpoint.__table__, Project.__table__, ProjectMember.__table__

# The union's columns and their types: a branch fills those it has, the others are typed nulls (the
# result's decoding follows the first branch's types, so every branch carries them all).
_COLUMN_TYPES: dict[str, TypeEngine[Any]] = {
    "id": _comments.c.id.type,
    "task_id": _comments.c.task_id.type,
    "user_id": _users.c.id.type,
    "organization_id": _endpoints.c.organization_id.type,
    "body": _comments.c.body.type,
    "event_types": _endpoints.c.event_types.type,
}


def _branch(source: str, columns: dict[str, ColumnElement[Any]]) -> Select[Any]:
    selected: list[ColumnElement[Any]] = [literal(source).label("source")]
    for name, type_ in _COLUMN_TYPES.items():
        selected.append(columns.get(name, type_coerce(null(), type_)).label(name))
    return select(*selected)


def _expanding(name: str) -> Any:
    return bindparam(name, expanding=True)


_READ_BATCH = union_all(
    _branch(
        "comment",
        {"id": _comments.c.id, "task_id": _comments.c.task_id, "body": _comments.c.body},
    ).where(_comments.c.id.in_(_expanding("comment_ids")), _comments.c.deleted_at.is_(None)),
    _branch("reader", {"user_id": _users.c.id, "task_id": _tasks.c.id})
    .select_from(_users.join(_tasks, _tasks.c.organization_id == _users.c.organization_id))
    .where(
        # The single keys let both tables be read by their indexes; the pairs are exact.
        _users.c.id.in_(_expanding("reader_user_ids")),
        _tasks.c.id.in_(_expanding("reader_task_ids")),
        tuple_(_users.c.id, _tasks.c.id).in_(_expanding("reader_pairs")),
        _tasks.c.deleted_at.is_(None),
        _users.c.deactivated_at.is_(None),
        user_sees_project(_users, _tasks.c.project_id),
    ),
    _branch(
        "endpoint",
        {
            "id": _endpoints.c.id,
            "organization_id": _endpoints.c.organization_id,
            "event_types": _endpoints.c.event_types,
        },
    ).where(
        _endpoints.c.organization_id.in_(_expanding("endpoint_organization_ids")),
        _endpoints.c.active.is_(True),
        _endpoints.c.deleted_at.is_(None),
    ),
    _branch(
        "member",
        {"id": _projects.c.id, "organization_id": _projects.c.organization_id, "user_id": _members.c.user_id},
    )
    .select_from(_projects.outerjoin(_members, _members.c.project_id == _projects.c.id))
    .where(_projects.c.id.in_(_expanding("audience_project_ids"))),
)


async def read_batch(conn: AsyncConnection, needs: BatchNeeds) -> BatchReads:
    """One statement for all of ``needs``; none when it needs nothing."""
    if not needs:
        return BatchReads()
    wanted_comments = dict(needs.comments)
    parameters = {
        "comment_ids": sorted(wanted_comments),
        "reader_user_ids": sorted({user_id for user_id, _ in needs.readers}),
        "reader_task_ids": sorted({task_id for _, task_id in needs.readers}),
        "reader_pairs": sorted(needs.readers),
        "endpoint_organization_ids": sorted(needs.endpoint_organizations),
        "audience_project_ids": sorted(needs.audience_projects),
    }
    bodies: dict[int, str] = {}
    readers: set[tuple[int, int]] = set()
    endpoints: list[Endpoint] = []
    organization_of: dict[int, int] = {}
    members_of: dict[int, set[int]] = {}
    for row in (await conn.execute(_READ_BATCH, parameters)).all():
        if row.source == "comment":
            if wanted_comments.get(row.id) == row.task_id:
                bodies[row.id] = row.body
        elif row.source == "reader":
            readers.add((int(row.user_id), int(row.task_id)))
        elif row.source == "endpoint":
            endpoints.append(Endpoint(int(row.id), int(row.organization_id), row.event_types))
        else:
            organization_of[row.id] = int(row.organization_id)
            members = members_of.setdefault(row.id, set())
            if row.user_id is not None:
                members.add(int(row.user_id))
    audiences = {
        project_id: ProjectAudience(organization_id, frozenset(members_of[project_id]))
        for project_id, organization_id in organization_of.items()
    }
    return BatchReads(bodies, frozenset(readers), tuple(sorted(endpoints, key=lambda e: e.id)), audiences)
