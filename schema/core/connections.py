"""Relay connections: nodes, edges with cursors, pageInfo and totalCount."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from persistence.values import Page

T = TypeVar("T")


@strawberry.type(description="Where a page stands in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow: ask with `after: endCursor`.")
    has_previous_page: bool = strawberry.field(
        description="More items come before: ask with `before: startCursor`."
    )
    start_cursor: str | None = strawberry.field(description="The first item's cursor; null on an empty page.")
    end_cursor: str | None = strawberry.field(description="The last item's cursor; null on an empty page.")


@strawberry.type(description="An item of a page, with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque: pass it as `after` or `before` to page from here.")
    node: T = strawberry.field(description="The item.")


@strawberry.type
class Connection(Generic[T]):
    nodes: list[T] = strawberry.field(description="The page's items, in the list's order.")
    total_count: int = strawberry.field(
        description="All items that match, on every page (counted only when asked for)."
    )
    # Cursors are made only when pageInfo or edges ask for them.
    _page: strawberry.Private[Page[Any]]
    _cursor_of: strawberry.Private[Callable[[Any], str]]

    @strawberry.field(description="Whether more pages follow or precede, and the page's end cursors.")
    def page_info(self) -> PageInfo:
        rows = self._page.rows
        return PageInfo(
            has_next_page=self._page.has_next_page,
            has_previous_page=self._page.has_previous_page,
            start_cursor=self._cursor_of(rows[0]) if rows else None,
            end_cursor=self._cursor_of(rows[-1]) if rows else None,
        )

    @strawberry.field(description="The page's items with their cursors, in the list's order.")
    def edges(self) -> list[Edge[T]]:
        rows = self._page.rows
        return [Edge(cursor=self._cursor_of(r), node=n) for r, n in zip(rows, self.nodes, strict=True)]


# The Relay arguments every connection field takes, described once.
First = Annotated[
    int | None,
    strawberry.argument(description="At most this many items from the start (after `after`): 1 to 100."),
]
After = Annotated[
    str | None, strawberry.argument(description="Items after this cursor (an `endCursor` or edge `cursor`).")
]
Last = Annotated[
    int | None,
    strawberry.argument(description="At most this many items from the end (before `before`): 1 to 100."),
]
Before = Annotated[
    str | None,
    strawberry.argument(description="Items before this cursor (a `startCursor` or edge `cursor`)."),
]
