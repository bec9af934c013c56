"""Reads through the versioned caches (persistence/versioned_cache.py): entries by id, task-list pages,
and a viewer's project roles. Every helper answers from the database alone when the request has no
cache (Redis away, or no principal), and fills what it read so the next request of the organization hits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from persistence.db import Database
from persistence.queries import projects as project_queries
from persistence.queries.rows import AnyRow, row_to_json
from persistence.queries.scope import Scope
from persistence.queries.tasks import task_row_from_json
from persistence.values import Page
from persistence.versioned_cache import Namespace, VersionedCache, fingerprint

PageWithTotal = tuple[Page[AnyRow], int | None]
# A task-list page shows tasks, their projects, people and labels, and depends on who may see what.
TASK_LIST_NAMESPACES: tuple[Namespace, ...] = ("users", "members", "projects", "tasks")


async def rows_by_ids(
    cache: VersionedCache | None,
    data_type: str,
    namespaces: Sequence[Namespace],
    ids: Sequence[int],
    read: Callable[[Sequence[int]], Awaitable[Sequence[Any]]],
    decode: Callable[[dict[str, Any]], Any],
) -> dict[int, Any]:
    """Rows by id: the cached ones in one MGET, the rest in one ``read`` (filled for next time). Rows
    ``read`` does not return (missing, or not the scope's to see) are not cached."""
    keys = None if cache is None else await cache.keys(data_type, namespaces, [str(i) for i in ids])
    if cache is None or keys is None:
        return {row.id: row for row in await read(ids)}
    found = {
        i: decode(entry)
        for i, entry in zip(ids, await cache.get_many(data_type, keys), strict=True)
        if entry is not None
    }
    missing = [i for i in ids if i not in found]
    if missing:
        fresh = {row.id: row for row in await read(missing)}
        key_of = dict(zip(ids, keys, strict=True))
        await cache.fill_many(data_type, {key_of[i]: row_to_json(row) for i, row in fresh.items()})
        found |= fresh
    return found


def _visibility(scope: Scope) -> str:
    """Owners and admins of an organization all see the same lists; anyone else sees their own."""
    return "all" if scope.sees_all_projects else f"user{scope.user_id}"


def _encode_page(result: PageWithTotal) -> dict[str, Any]:
    page, total = result
    rows = [row_to_json(row) for row in page.rows]
    return {"rows": rows, "next": page.has_next_page, "previous": page.has_previous_page, "total": total}


def _decode_page(entry: dict[str, Any]) -> PageWithTotal:
    # Rows rebuilt from JSON read like the database's (attribute access, ``_mapping``).
    rows: list[Any] = [task_row_from_json(fields) for fields in entry["rows"]]
    return Page(rows, has_next_page=entry["next"], has_previous_page=entry["previous"]), entry["total"]


async def task_pages(
    cache: VersionedCache | None,
    scope: Scope,
    arguments: Sequence[Any],
    parent_ids: Sequence[int],
    read: Callable[[Sequence[int]], Awaitable[dict[int, PageWithTotal]]],
) -> dict[int, PageWithTotal]:
    """Task-list pages per parent (a project, an assignee; 0 for the organization's own list), keyed
    by the viewer's visibility and the list's ``arguments`` (filter, order, page, columns)."""
    names = [fingerprint(_visibility(scope), parent_id, *arguments) for parent_id in parent_ids]
    keys = None if cache is None else await cache.keys("task_list", TASK_LIST_NAMESPACES, names)
    if cache is None or keys is None:
        return await read(parent_ids)
    found = {
        parent_id: _decode_page(entry)
        for parent_id, entry in zip(parent_ids, await cache.get_many("task_list", keys), strict=True)
        if entry is not None
    }
    missing = [parent_id for parent_id in parent_ids if parent_id not in found]
    if missing:
        fresh = await read(missing)
        key_of = dict(zip(parent_ids, keys, strict=True))
        await cache.fill_many("task_list", {key_of[p]: _encode_page(fresh[p]) for p in missing})
        found |= fresh
    return found


async def project_roles(cache: VersionedCache | None, db: Database, scope: Scope) -> dict[int, str]:
    """The viewer's role in each project they are a member of (the permission check), cached for the
    permission TTL and dropped at once by membership, project and user writes."""
    namespaces: tuple[Namespace, ...] = ("users", "members", "projects")
    keys = None if cache is None else await cache.keys("permission", namespaces, [str(scope.user_id)])
    if cache is not None and keys is not None:
        entry = (await cache.get_many("permission", keys))[0]
        if entry is not None:
            return {int(project_id): role for project_id, role in entry.items()}
    async with db.read() as conn:
        roles = await project_queries.project_roles_of_user(conn, scope.organization_id, scope.user_id)
    if cache is not None and keys is not None:
        await cache.fill_many("permission", {keys[0]: {str(k): v for k, v in roles.items()}})
    return roles
