"""The baseline the GraphQL server is measured against: plain Starlette endpoints that do the same
job by hand. Same authentication (``authenticate_bearer`` on the same Services), same tenancy filter
(``persistence.queries.scope``), one SQL statement through SQLAlchemy Core that selects only the
columns the answer needs, and the same JSON bytes as the GraphQL response, written with orjson.

The write (``POST /raw/tasks/{id}/update``, what ``taskUpdate`` does to a title): the same guarded
UPDATE and the same event row in one transaction, the event handed to the same relay after the
commit (the relay runs in this app's lifespan, as in the server's).

Serve it with ``uvicorn perf.bench.raw_app:create_raw_app --factory``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, Update, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from persistence.enums import TaskStatus
from persistence.models import Project, Task, User
from persistence.models.base import utcnow
from persistence.queries.events import NewEvent, insert_task_event
from persistence.queries.scope import Scope, may_edit_project, visible_project
from persistence.settings import Settings, get_settings
from resolvers.auth import authenticate_bearer
from resolvers.context import Services
from resolvers.errors import BadUserInput, Unauthenticated
from resolvers.principal import Principal
from resolvers.task_mutations import TITLE_MAX
from schema.app import build_services
from schema.core.ids import decode_id, encode_id
from schema.guard.idempotency import HEADER, MAX_KEY_LENGTH

DEFAULT_FIRST = 50
MAX_FIRST = 100

_tasks = Task.__table__
_projects = Project.__table__
_assignees = User.__table__.alias("assignee")


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


def _select(scope: Scope) -> Select[Any]:
    """The columns of `title status project{name} assignee{name email}` and nothing else, with the
    joins and tenancy conditions the GraphQL list uses (LEFT JOINs keep MariaDB driving from tasks)."""
    source = _tasks.outerjoin(
        _projects,
        (_projects.c.id == _tasks.c.project_id) & (_projects.c.organization_id == _tasks.c.organization_id),
    ).outerjoin(
        _assignees,
        (_assignees.c.id == _tasks.c.assignee_id)
        & (_assignees.c.organization_id == _tasks.c.organization_id),
    )
    in_scope: list[ColumnElement[bool]] = [
        _tasks.c.organization_id == scope.organization_id,
        _tasks.c.deleted_at.is_(None),
        visible_project(scope, _tasks.c.project_id),
    ]
    return (
        select(
            _tasks.c.title,
            _tasks.c.status,
            _projects.c.name.label("project_name"),
            _assignees.c.id.label("assignee_id"),
            _assignees.c.name.label("assignee_name"),
            _assignees.c.email.label("assignee_email"),
        )
        .select_from(source)
        .where(*in_scope)
    )


def _node(row: Any) -> dict[str, Any]:
    # Keys in the order the GraphQL selection names them, so the bytes match; the enum as its name.
    assignee = None
    if row.assignee_id is not None:
        assignee = {"name": row.assignee_name, "email": row.assignee_email}
    return {
        "title": row.title,
        "status": TaskStatus(row.status).name,
        "project": {"name": row.project_name},
        "assignee": assignee,
    }


@dataclass(frozen=True)
class TitleChange:
    version: int
    title: str


def _title_change(body: bytes) -> TitleChange:
    """``{"version": 3, "title": "..."}``, checked as taskUpdate checks a title."""
    try:
        fields = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadUserInput("the body is not JSON") from error
    version = fields.get("version") if isinstance(fields, dict) else None
    title = fields.get("title") if isinstance(fields, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise BadUserInput("`version` is the task's current version", argument="version")
    if not isinstance(title, str) or not 0 < len(title.strip()) <= TITLE_MAX:
        raise BadUserInput(f"a title has 1 to {TITLE_MAX} characters", argument="title")
    return TitleChange(version, title.strip())


def _idempotency_key(header: str | None, principal: Principal) -> str | None:
    """The events row's key as the server derives it from the header (schema/guard/idempotency.py)."""
    if header is None:
        return None
    if not 0 < len(header) <= MAX_KEY_LENGTH or not header.isascii() or not header.isprintable():
        raise BadUserInput(f"an Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return f"user:{principal.user_id}:{hashlib.sha256(header.encode()).hexdigest()}"


def _guarded_update(scope: Scope, task_id: int, change: TitleChange, now: datetime) -> Update:
    """taskUpdate's UPDATE: only a live task of the organization that the scope sees and may edit,
    and only at the version the client read (optimistic concurrency); the version moves on by one."""
    return (
        update(Task)
        .where(
            _tasks.c.id == task_id,
            _tasks.c.organization_id == scope.organization_id,
            _tasks.c.deleted_at.is_(None),
            _tasks.c.version == change.version,
            visible_project(scope, _tasks.c.project_id),
            may_edit_project(scope, _tasks.c.project_id),
        )
        .values(title=change.title, version=_tasks.c.version + 1, updated_at=now)
    )


async def _write(
    conn: AsyncConnection, principal: Principal, task_id: int, change: TitleChange, event: NewEvent
) -> int | None:
    """The update and its event in the caller's transaction; the event's id, None when the guard
    refused (nothing written)."""
    now = utcnow()
    updated = await conn.execute(_guarded_update(principal.scope, task_id, change, now))
    if updated.rowcount != 1:
        return None
    event_id, _ = await insert_task_event(conn, event, now)
    return event_id


def _written(task_id: int, version: int | None, errors: list[dict[str, str]]) -> dict[str, Any]:
    """taskUpdate's answer to `{ task { id version } errors { code } }`."""
    task = None if version is None else {"id": encode_id("Task", task_id), "version": version}
    return {"data": {"taskUpdate": {"task": task, "errors": errors}}}


def _first(request: Request) -> int:
    raw = request.query_params.get("first", str(DEFAULT_FIRST))
    if not raw.isdigit() or not 0 < int(raw) <= MAX_FIRST:
        raise BadUserInput(f"`first` runs from 1 to {MAX_FIRST}", argument="first")
    return int(raw)


class RawEndpoints:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def _principal(self, request: Request) -> Principal:
        """As the GraphQL view does it: `Bearer <token>`, then authenticate_bearer."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use `Authorization: Bearer <access token>`")
        return await authenticate_bearer(self.services, token.strip())

    async def tasks(self, request: Request) -> Response:
        try:
            scope = (await self._principal(request)).scope
            first = _first(request)
        except Unauthenticated as error:
            return _error(401, error.code, error.message)
        except BadUserInput as error:
            return _error(400, error.code, error.message)
        statement = _select(scope).order_by(_tasks.c.created_at.desc(), _tasks.c.id.desc()).limit(first)
        async with self.services.db.read() as conn:
            rows = (await conn.execute(statement)).all()
        return _json({"data": {"tasks": {"nodes": [_node(row) for row in rows]}}})

    async def task(self, request: Request) -> Response:
        try:
            scope = (await self._principal(request)).scope
            task_id = decode_id(request.path_params["id"], "Task")
        except Unauthenticated as error:
            return _error(401, error.code, error.message)
        except BadUserInput as error:
            return _error(400, error.code, error.message)
        async with self.services.db.read() as conn:
            row = (await conn.execute(_select(scope).where(_tasks.c.id == task_id))).first()
        if row is None:
            return _json({"data": {"task": None}}, 404)
        return _json({"data": {"task": _node(row)}})

    async def update_task(self, request: Request) -> Response:
        """A new title at a known version, with the write's event; an Idempotency-Key is recorded
        on the event (its unique index refuses a second use) but, unlike the server, never replayed."""
        body = await request.body()
        try:
            principal = await self._principal(request)
            task_id = decode_id(request.path_params["id"], "Task")
            change = _title_change(body)
            key = _idempotency_key(request.headers.get(HEADER), principal)
        except Unauthenticated as error:
            return _error(401, error.code, error.message)
        except BadUserInput as error:
            return _error(400, error.code, error.message)
        if not principal.can_write:
            return _error(403, "FORBIDDEN", "this API key may read only (scope `read`)")
        payload: dict[str, Any] = {"changes": {"title": change.title}}
        if key is not None:
            payload["request"] = hashlib.sha256(body).hexdigest()
        event = NewEvent(
            principal.organization_id, None, task_id, principal.user_id, "task.updated", payload, key
        )
        try:
            async with self.services.db.unit_of_work() as conn:
                event_id = await _write(conn, principal, task_id, change, event)
        except IntegrityError as error:
            if key is None or "idempotency_key" not in str(error.orig):
                raise
            return _error(422, "BAD_USER_INPUT", "this Idempotency-Key was used before")
        if event_id is None:
            refused = [{"code": "CONFLICT"}]  # a stale version, or a task not there to edit
            return _json(_written(task_id, None, refused), 409)
        self.services.relay.notify([event_id])
        return _json(_written(task_id, change.version + 1, []))


async def _healthz(_request: Request) -> Response:
    return _json({"status": "ok"})


def create_raw_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    """Built as the server's composition root builds them, relay included, unless a test passes its
    own ``services``; the lifespan runs the relay, as the server's does."""
    owns_services = services is None
    services = services or build_services(settings or get_settings())
    endpoints = RawEndpoints(services)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await services.relay.start()
        yield
        await services.relay.stop()
        if owns_services:
            await services.cache.redis.aclose()
            await services.db.dispose()

    return Starlette(
        routes=[
            Route("/raw/tasks", endpoints.tasks, methods=["GET", "POST"]),
            Route("/raw/tasks/{id}", endpoints.task, methods=["GET", "POST"]),
            Route("/raw/tasks/{id}/update", endpoints.update_task, methods=["POST"]),
            Route("/healthz", _healthz),
        ],
        lifespan=lifespan,
    )
