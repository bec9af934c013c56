"""Keyset pagination over (sort column, id), with NULL as the smallest value (MariaDB and SQLite agree)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.queries.rows import AnyRow
from persistence.values import Cursor, Page, PageRequest


@dataclass(frozen=True)
class SortKey:
    column: ColumnElement[Any]
    id_column: ColumnElement[int]
    descending: bool


def beyond(key: SortKey, cursor: Cursor, ascending: bool) -> ColumnElement[bool]:
    """Rows strictly after ``cursor`` in the order (column, id), both ascending or both descending."""
    col, ident = key.column, key.id_column
    if ascending:
        if cursor.value is None:
            return or_(and_(col.is_(None), ident > cursor.id), col.is_not(None))
        return or_(col > cursor.value, and_(col == cursor.value, ident > cursor.id))
    if cursor.value is None:
        return and_(col.is_(None), ident < cursor.id)
    return or_(col < cursor.value, and_(col == cursor.value, ident < cursor.id), col.is_(None))


def paginate(statement: Select[Any], key: SortKey, page: PageRequest) -> Select[Any]:
    """Adds the cursor conditions, the order and a limit one past the page (to see if more exist)."""
    ascending = not key.descending
    if page.after is not None:
        statement = statement.where(beyond(key, page.after, ascending))
    if page.before is not None:
        statement = statement.where(beyond(key, page.before, not ascending))
    return statement.order_by(*read_order(key, page)).limit(page.size + 1)


def to_page(rows: Sequence[AnyRow], page: PageRequest) -> Page[AnyRow]:
    more = len(rows) > page.size
    rows = rows[: page.size]
    if page.backward:
        return Page(list(reversed(rows)), has_next_page=page.before is not None, has_previous_page=more)
    return Page(rows, has_next_page=more, has_previous_page=page.after is not None)


async def fetch_page(
    conn: AsyncConnection,
    statement: Select[Any],
    key: SortKey,
    page: PageRequest,
    count: Select[Any] | None = None,
) -> tuple[Page[AnyRow], int | None]:
    """One statement for the page; with ``count`` the total rides along as an uncorrelated subquery."""
    return await _read_page(conn, paginate(statement, key, page), page, count)


async def fetch_page_by_ids(
    conn: AsyncConnection,
    statement: Select[Any],
    ids: Select[Any],
    key: SortKey,
    page: PageRequest,
    count: Select[Any] | None = None,
) -> tuple[Page[AnyRow], int | None]:
    """Still one statement, in two steps: the page's ids come from ``ids`` (the filtered table alone,
    where an index gives the order and the limit), then the wide ``statement`` (joins, aggregates,
    subqueries) reads those rows only. Nothing is ever sorted or aggregated for every match, whatever
    join order MariaDB picks (it once sorted a whole join for one page: docs/architecture.md)."""
    picked = paginate(ids, key, page).subquery("page")
    # `ids` selects the id column alone.
    wide = statement.join(picked, picked.c[0] == key.id_column).order_by(*read_order(key, page))
    return await _read_page(conn, wide, page, count)


async def _read_page(
    conn: AsyncConnection, statement: Select[Any], page: PageRequest, count: Select[Any] | None
) -> tuple[Page[AnyRow], int | None]:
    """Reads a statement already limited to one row past the page.

    Only a page that comes back empty after a cursor needs a second statement for its total.
    """
    if count is not None:
        statement = statement.add_columns(count.scalar_subquery().label("total_count"))
    rows = (await conn.execute(statement)).all()
    result = to_page(rows, page)
    if count is None:
        return result, None
    if rows:
        # The row read past the page carries the total too (`first: 0` reads one row for it).
        return result, int(rows[0].total_count)
    if page.after is None and page.before is None:
        return result, 0
    return result, int((await conn.execute(count)).scalar_one())


def read_order(key: SortKey, page: PageRequest) -> list[ColumnElement[Any]]:
    if (not key.descending) != page.backward:
        return [key.column.asc(), key.id_column.asc()]
    return [key.column.desc(), key.id_column.desc()]


async def fetch_partitioned_pages(
    conn: AsyncConnection,
    statement: Select[Any],
    partition: ColumnElement[int],
    partition_ids: Sequence[int],
    key: SortKey,
    page: PageRequest,
    *,
    with_total: bool,
) -> dict[int, tuple[Page[AnyRow], int | None]]:
    """The same page of a nested connection for many parents in one statement (ROW_NUMBER per parent).

    A total rides along as a window count; after a cursor the window no longer sees every row,
    so totals then take one grouped count.
    """
    if len(partition_ids) == 1:
        # One parent (a detail page): a plain LIMIT reads fewer rows than a window over all of them.
        only = partition_ids[0]
        count = None
        if with_total:
            count = statement.with_only_columns(func.count()).where(partition == only).order_by(None)
        return {only: await fetch_page(conn, statement.where(partition == only), key, page, count)}
    ascending = not key.descending
    filtered = statement.where(partition.in_(partition_ids))
    unpaged = filtered
    if page.after is not None:
        filtered = filtered.where(beyond(key, page.after, ascending))
    if page.before is not None:
        filtered = filtered.where(beyond(key, page.before, not ascending))
    row_number = func.row_number().over(partition_by=partition, order_by=read_order(key, page))
    extra = [partition.label("_partition"), row_number.label("_rn")]
    window_total = with_total and page.after is None and page.before is None
    if window_total:
        extra.append(func.count().over(partition_by=partition).label("total_count"))
    inner = filtered.add_columns(*extra).subquery()
    outer = select(inner).where(inner.c._rn <= page.size + 1).order_by(inner.c._partition, inner.c._rn)
    grouped: dict[int, list[AnyRow]] = {pid: [] for pid in partition_ids}
    for row in (await conn.execute(outer)).all():
        grouped[row._partition].append(row)
    totals: dict[int, int] = {}
    if with_total and not window_total:
        counted = unpaged.with_only_columns(partition, func.count()).group_by(partition).order_by(None)
        totals = {pid: int(n) for pid, n in (await conn.execute(counted)).all()}
    pages: dict[int, tuple[Page[AnyRow], int | None]] = {}
    for pid, rows in grouped.items():
        total: int | None = None
        if window_total:
            total = int(rows[0].total_count) if rows else 0
        elif with_total:
            total = totals.get(pid, 0)
        pages[pid] = (to_page(rows, page), total)
    return pages
