"""The baseline the GraphQL server is measured against: plain Starlette endpoints that do the same
job by hand. Same authentication (``authenticate_bearer`` on the same Services), same tenancy filter
(``persistence.queries.scope``), one SQL statement through SQLAlchemy Core that selects only the
columns the answer needs, and the same JSON bytes as the GraphQL response, written with orjson.

Serve it with ``uvicorn perf.bench.raw_app:create_raw_app --factory``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from persistence.enums import TaskStatus
from persistence.models import Project, Task, User
from persistence.queries.scope import Scope, visible_project
from persistence.settings import Settings, get_settings
from resolvers.auth import authenticate_bearer
from resolvers.context import Services
from resolvers.errors import BadUserInput, Unauthenticated
from resolvers.principal import Principal
from schema.app import build_services
from schema.core.ids import decode_id

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


async def _healthz(_request: Request) -> Response:
    return _json({"status": "ok"})


def create_raw_app(settings: Settings | None = None) -> Starlette:
    services = build_services(settings or get_settings())
    endpoints = RawEndpoints(services)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await services.cache.redis.aclose()
        await services.db.dispose()

    return Starlette(
        routes=[
            Route("/raw/tasks", endpoints.tasks, methods=["GET", "POST"]),
            Route("/raw/tasks/{id}", endpoints.task, methods=["GET", "POST"]),
            Route("/healthz", _healthz),
        ],
        lifespan=lifespan,
    )
