from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loaders.base import ScopedLoader
from loaders.cached import project_roles, rows_by_ids
from persistence.db import Database
from persistence.enums import ProjectRole
from persistence.queries import projects as queries
from persistence.queries.rows import AnyRow, PlainRow
from persistence.queries.scope import Scope
from persistence.values import ProjectIncludes
from persistence.versioned_cache import VersionedCache


class ProjectByIdLoader(ScopedLoader):
    """Projects by id. The project cache holds the rows alone (the same for everyone in the
    organization); who may see one, and the viewer's role, come from the viewer's cached project
    roles. Open task counts change with every task write and are never cached: asking for them reads
    the database."""

    def __init__(
        self, db: Database, scope: Scope, includes: ProjectIncludes, versioned: VersionedCache | None = None
    ) -> None:
        super().__init__(db, scope, versioned)
        self.includes = includes

    async def batch_load_fn(self, ids: Sequence[int]) -> list[AnyRow | PlainRow | None]:
        if self.versioned is None or self.includes.open_task_count:
            async with self.db.read() as conn:
                rows = await queries.projects_by_ids(conn, self.scope, ids, self.includes)
            by_id = {row.id: row for row in rows}
            return [by_id.get(i) for i in ids]
        found = await rows_by_ids(self.versioned, "project", ("projects",), ids, self._read, _cached_row)
        roles: dict[int, str] = {}
        # Rows just read went through the scope's own filter; a cached one (a PlainRow) may have been
        # filled by anyone in the organization, so the viewer's roles decide whether it is seen.
        from_cache = any(isinstance(row, PlainRow) for row in found.values())
        if self.includes.viewer_role or (from_cache and not self.scope.sees_all_projects):
            roles = await project_roles(self.versioned, self.db, self.scope)
        return [self._as_seen(found.get(i), roles) for i in ids]

    async def _read(self, ids: Sequence[int]) -> Sequence[AnyRow]:
        async with self.db.read() as conn:
            return await queries.projects_by_ids(conn, self.scope, ids, ProjectIncludes())

    def _as_seen(self, row: AnyRow | PlainRow | None, roles: dict[int, str]) -> PlainRow | None:
        if row is None:
            return None
        if isinstance(row, PlainRow) and not (self.scope.sees_all_projects or row.id in roles):
            return None
        fields = dict(row._mapping)
        if self.includes.viewer_role:
            role = roles.get(row.id)
            fields["viewer_role"] = None if role is None else ProjectRole(role)
        return PlainRow(fields)


def _cached_row(fields: dict[str, Any]) -> PlainRow:
    return queries.project_row_from_json(fields)


def _group(rows: Sequence[AnyRow], column: str, keys: Sequence[int]) -> list[list[AnyRow]]:
    grouped: dict[int, list[AnyRow]] = {key: [] for key in keys}
    for row in rows:
        grouped[getattr(row, column)].append(row)
    return [grouped[key] for key in keys]


class MembershipsByUserIdLoader(ScopedLoader):
    """A user's projects (those the scope may see too) with the user's role there."""

    async def batch_load_fn(self, user_ids: Sequence[int]) -> list[list[AnyRow]]:
        async with self.db.read() as conn:
            rows = await queries.memberships_by_user_ids(conn, self.scope, user_ids)
        return _group(rows, "member_user_id", user_ids)


class MembersByProjectIdLoader(ScopedLoader):
    async def batch_load_fn(self, project_ids: Sequence[int]) -> list[list[AnyRow]]:
        async with self.db.read() as conn:
            rows = await queries.members_by_project_ids(conn, self.scope, project_ids)
        return _group(rows, "member_project_id", project_ids)


class LabelsByProjectIdLoader(ScopedLoader):
    async def batch_load_fn(self, project_ids: Sequence[int]) -> list[list[AnyRow]]:
        async with self.db.read() as conn:
            rows = await queries.labels_by_project_ids(conn, self.scope, project_ids)
        return _group(rows, "project_id", project_ids)
