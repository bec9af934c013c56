"""What one connection field was asked: its page (first/after/last/before, the cursors decoded in the
list's order) and its selection; and the connection built from the page its resolver read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from strawberry.types import Info

from persistence.values import Page
from resolvers.context import RequestContext
from resolvers.pagination import page_request
from schema.core.connections import Connection
from schema.core.cursors import CursorOrder
from schema.core.selection import ConnectionSelection

C = TypeVar("C", bound=Connection[Any])
R = TypeVar("R")


class ConnectionRequest:
    __slots__ = ("_order", "page", "selection")

    def __init__(
        self,
        info: Info[RequestContext, None],
        order: CursorOrder,
        *,
        first: int | None,
        after: str | None,
        last: int | None = None,
        before: str | None = None,
    ) -> None:
        self._order = order
        self.selection = ConnectionSelection(info.selected_fields)
        # The cursors are decoded before the sizes are checked: with both wrong, `after` is the one named.
        self.page = page_request(
            info.context.settings,
            first=first,
            last=last,
            after=order.decode(after, argument="after"),
            before=order.decode(before, argument="before"),
        )

    def connection(
        self, cls: type[C], page: Page[R], total: int | None, to_node: Callable[[R], Any], **fields: Any
    ) -> C:
        """``fields`` are a connection type's own fields beyond nodes and totalCount."""
        return cls(
            nodes=[to_node(row) for row in page.rows],
            total_count=total or 0,
            _page=page,
            _cursor_of=self._order.cursor_of,
            **fields,
        )
