from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import FromClause

from persistence.models import User
from persistence.queries.pagination import SortKey, fetch_page
from persistence.queries.rows import AnyRow, PlainRow, python_types, row_from_json
from persistence.queries.scope import Scope
from persistence.values import Page, PageRequest

USER_FIELDS = (
    "id",
    "organization_id",
    "email",
    "name",
    "role",
    "is_operator",
    "deactivated_at",
    "created_at",
)


def user_columns(table: FromClause, prefix: str = "") -> list[ColumnElement[Any]]:
    """The readable columns of a user (never the password hash), labelled with ``prefix``."""
    return [table.c[name].label(f"{prefix}{name}") for name in USER_FIELDS]


async def users_by_ids(conn: AsyncConnection, scope: Scope, ids: Sequence[int]) -> Sequence[AnyRow]:
    users = User.__table__
    statement = select(*user_columns(users)).where(
        users.c.id.in_(ids), users.c.organization_id == scope.organization_id
    )
    return (await conn.execute(statement)).all()


async def list_users(
    conn: AsyncConnection, scope: Scope, page: PageRequest, *, with_total: bool, include_deactivated: bool
) -> tuple[Page[AnyRow], int | None]:
    users = User.__table__
    conditions = [users.c.organization_id == scope.organization_id]
    if not include_deactivated:
        conditions.append(users.c.deactivated_at.is_(None))
    count = select(func.count()).select_from(users).where(*conditions) if with_total else None
    statement = select(*user_columns(users)).where(*conditions)
    return await fetch_page(conn, statement, SortKey(users.c.name, users.c.id, descending=False), page, count)


async def user_for_login(conn: AsyncConnection, email: str) -> AnyRow | None:
    users = User.__table__
    statement = select(*user_columns(users), users.c.password_hash).where(users.c.email == email)
    return (await conn.execute(statement)).first()


_USER_TYPES = python_types(user_columns(User.__table__))


def user_row_from_json(fields: dict[str, Any]) -> PlainRow:
    """A user row from its cached JSON (see ``rows.row_from_json``)."""
    return row_from_json(fields, _USER_TYPES)
