from __future__ import annotations

from collections.abc import Sequence

from loaders.base import ScopedLoader
from persistence.db import Database
from persistence.queries import projects as queries
from persistence.queries.projects import ProjectIncludes
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope


class ProjectByIdLoader(ScopedLoader):
    def __init__(self, db: Database, scope: Scope, includes: ProjectIncludes) -> None:
        super().__init__(db, scope)
        self.includes = includes

    async def batch_load_fn(self, ids: Sequence[int]) -> list[AnyRow | None]:
        async with self.db.read() as conn:
            rows = await queries.projects_by_ids(conn, self.scope, ids, self.includes)
        by_id = {row.id: row for row in rows}
        return [by_id.get(i) for i in ids]


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
