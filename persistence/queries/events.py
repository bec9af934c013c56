from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, bindparam, func, insert, null, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from persistence.models import Event, Project, Task
from persistence.prepared import PreparedStatements
from persistence.queries.aggregates import greatest
from persistence.queries.pagination import SortKey, fetch_partitioned_pages
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope, visible_project
from persistence.values import Page, PageRequest

# Aliases built once: aliased() copies every column of its table, about 1 ms per call.
_previous_event = aliased(Event, name="previous")


EVENT_FIELDS = ("id", "task_id", "project_id", "actor_id", "type", "sequence", "payload", "created_at")


async def activity_by_task_ids(
    conn: AsyncConnection, scope: Scope, task_ids: Sequence[int], page: PageRequest, *, with_total: bool
) -> dict[int, tuple[Page[AnyRow], int | None]]:
    """Each task's activity (the events table read as a log), newest first."""
    events, tasks = Event.__table__, Task.__table__
    statement = (
        select(*[events.c[name] for name in EVENT_FIELDS])
        .select_from(events.join(tasks, tasks.c.id == events.c.task_id))
        .where(
            events.c.organization_id == scope.organization_id,
            tasks.c.organization_id == scope.organization_id,
            visible_project(scope, tasks.c.project_id),
        )
    )
    key = SortKey(events.c.id, events.c.id, descending=True)
    return await fetch_partitioned_pages(
        conn, statement, events.c.task_id, task_ids, key, page, with_total=with_total
    )


async def events_by_ids(conn: AsyncConnection, scope: Scope, event_ids: Sequence[int]) -> Sequence[AnyRow]:
    """The task events among these ids whose task is live and visible to the scope (an event is
    shown as part of its task's activity): one statement."""
    events, tasks = Event.__table__, Task.__table__
    statement = (
        select(*[events.c[name] for name in EVENT_FIELDS])
        .select_from(events.join(tasks, tasks.c.id == events.c.task_id))
        .where(
            events.c.id.in_(event_ids),
            events.c.organization_id == scope.organization_id,
            tasks.c.organization_id == scope.organization_id,
            tasks.c.deleted_at.is_(None),
            visible_project(scope, tasks.c.project_id),
        )
    )
    return (await conn.execute(statement)).all()


@dataclass(frozen=True)
class NewEvent:
    organization_id: int
    project_id: int | None
    task_id: int | None
    actor_id: int | None
    type: str
    payload: dict[str, Any]
    # "<principal>:<sha256 of the client's key>" for the mutation's main event, else None.
    idempotency_key: str | None = None


def project_head(dialect: str, project_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """The project's highest sequence handed out: of its events and of those the cleanup purged
    (models/projects.py); 0 before its first. The next event takes the one after it, and a
    subscription without a cursor starts from it (event_log.project_event_head)."""
    highest = select(func.coalesce(func.max(_previous_event.sequence), 0)).where(
        _previous_event.project_id == project_id
    )
    purged = select(_projects.c.purged_event_sequence).where(_projects.c.id == project_id)
    return greatest(dialect, highest.scalar_subquery(), func.coalesce(purged.scalar_subquery(), 0))


_events = Event.__table__
_tasks = Task.__table__
_projects = Project.__table__
# The columns every event gives, each its own bind parameter (named apart from the column).
_GIVEN = ("task_id", "actor_id", "type", "payload", "created_at", "idempotency_key")
_REQUEST = frozenset([f"new_{column}" for column in (*_GIVEN, "organization_id", "project_id")])


def _new(column: str) -> Any:
    return bindparam(f"new_{column}", type_=_events.c[column].type)


def _given(event: NewEvent, now: datetime) -> dict[str, Any]:
    return {
        "new_task_id": event.task_id,
        "new_actor_id": event.actor_id,
        "new_type": event.type,
        "new_payload": event.payload,
        "new_created_at": now,
        "new_idempotency_key": event.idempotency_key,
    }


def _event_statement(dialect: str, with_project: bool) -> Insert:
    values: dict[str, Any] = {column: _new(column) for column in _GIVEN}
    values["organization_id"] = _new("organization_id")
    values["project_id"] = project = _new("project_id")
    values["sequence"] = project_head(dialect, project) + 1 if with_project else null()
    return insert(Event).values(**values).returning(_events.c.id, _events.c.sequence)


def _task_event_statement(dialect: str) -> Insert:
    values: dict[str, Any] = {column: _new(column) for column in _GIVEN}
    task = values["task_id"]
    values["organization_id"] = select(_tasks.c.organization_id).where(_tasks.c.id == task).scalar_subquery()
    project = select(_tasks.c.project_id).where(_tasks.c.id == task).scalar_subquery()
    values["project_id"] = project
    values["sequence"] = project_head(dialect, project) + 1
    return insert(Event).values(**values).returning(_events.c.id, _events.c.sequence)


_EVENT_INSERTS = PreparedStatements(_event_statement, _REQUEST)
_TASK_EVENT_INSERTS = PreparedStatements(_task_event_statement, _REQUEST)


async def insert_event(conn: AsyncConnection, event: NewEvent, now: datetime) -> tuple[int, int | None]:
    """Appends one event and returns its id and per-project sequence.

    The sequence is the project's highest (or the highest the cleanup purged) plus one, read in the
    same statement; the unique index
    (project_id, sequence) turns a concurrent twin into an error the unit of work retries, so the
    sequence never has a gap or a duplicate. (INSERT ... VALUES, not INSERT ... SELECT: MariaDB
    holds a table-wide AUTO-INC lock through an INSERT ... SELECT, and concurrent writers deadlock.)
    """
    given = _given(event, now)
    given.update(new_organization_id=event.organization_id, new_project_id=event.project_id)
    inserted = await _EVENT_INSERTS.execute(conn, (event.project_id is not None,), given)
    return _inserted(inserted.one())


async def insert_task_event(conn: AsyncConnection, event: NewEvent, now: datetime) -> tuple[int, int | None]:
    """The same for an event about ``event.task_id``: its project comes from the task's row in the same
    statement (a writer that only updated the task need not read it first)."""
    inserted = await _TASK_EVENT_INSERTS.execute(conn, (), _given(event, now))
    return _inserted(inserted.one())


def _inserted(row: Any) -> tuple[int, int | None]:
    return int(row.id), row.sequence


async def event_by_idempotency_key(conn: AsyncConnection, key: str) -> AnyRow | None:
    events = Event.__table__
    statement = select(*[events.c[name] for name in EVENT_FIELDS], events.c.organization_id).where(
        events.c.idempotency_key == key
    )
    row: AnyRow | None = (await conn.execute(statement)).first()
    return row
