"""Relay connections: nodes, edges with cursors, pageInfo and totalCount."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from persistence.values import Page

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    nodes: list[T]
    total_count: int = strawberry.field(
        description="All items that match, on every page (counted only when asked for)."
    )
    # Cursors are made only when pageInfo or edges ask for them.
    _page: strawberry.Private[Page[Any]]
    _cursor_of: strawberry.Private[Callable[[Any], str]]

    @strawberry.field
    def page_info(self) -> PageInfo:
        rows = self._page.rows
        return PageInfo(
            has_next_page=self._page.has_next_page,
            has_previous_page=self._page.has_previous_page,
            start_cursor=self._cursor_of(rows[0]) if rows else None,
            end_cursor=self._cursor_of(rows[-1]) if rows else None,
        )

    @strawberry.field
    def edges(self) -> list[Edge[T]]:
        rows = self._page.rows
        return [Edge(cursor=self._cursor_of(r), node=n) for r, n in zip(rows, self.nodes, strict=True)]
