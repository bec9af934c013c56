"""One connection's arguments as a compiled statement takes them: what changes the statement's text
(its shape: which filters, how many values each, the order, which cursors, forward or backward) and
the values, bound as parameters named after the field's site in the operation."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from persistence.queries.search import search_words
from persistence.values import Cursor, PageRequest, TaskFilter

CursorKind = Literal["datetime", "date", "int", "float", "str"]


class LeftToResolvers(Exception):
    """Valid arguments the compiled engine does not read (the resolvers answer them)."""


@dataclass(frozen=True, slots=True)
class ListOrder:
    """A list's order as its cursors carry it (schema/core/cursors.py): the cursor's order name, the
    sort column and the kind of its values, the direction; ties go by id in the same direction."""

    name: str
    column: str
    kind: CursorKind
    descending: bool
    # The column may hold NULL (it sorts as the smallest value, as MariaDB and SQLite sort it).
    nullable: bool = False


# A cursor's part of the shape: none, one whose sort value is null, or one with a value.
CursorShape = Literal["none", "null", "value"]


def _cursor_shape(cursor: Cursor | None) -> CursorShape:
    if cursor is None:
        return "none"
    return "null" if cursor.value is None else "value"


@dataclass(frozen=True, slots=True)
class ListShape:
    order: ListOrder
    backward: bool
    empty: bool
    after: CursorShape
    before: CursorShape
    # Per filter field that is set, how many values it holds (0 for a single value).
    filters: tuple[tuple[str, int], ...]
    # Options that change the rows (archived projects, deactivated users), values included.
    options: tuple[tuple[str, bool | None], ...]
    searched: bool
    # A search page past the first (its "has previous page").
    started: bool


@dataclass(frozen=True, slots=True)
class ListArguments:
    order: ListOrder
    page: PageRequest
    task_filter: TaskFilter | None = None
    options: tuple[tuple[str, bool | None], ...] = ()
    # Full-text search: the text looked for (persistence/queries/search.py makes each dialect's
    # words of it), and the rank of the page's first row (its offset).
    search_text: str | None = None
    search_offset: int = 0

    def shape(self) -> ListShape:
        filters: list[tuple[str, int]] = []
        if self.task_filter is not None:
            for field in fields(self.task_filter):
                value = getattr(self.task_filter, field.name)
                if value is not None:
                    filters.append((field.name, len(value) if isinstance(value, tuple | list) else 0))
        return ListShape(
            self.order,
            self.page.backward,
            self.page.size == 0,
            _cursor_shape(self.page.after),
            _cursor_shape(self.page.before),
            tuple(filters),
            self.options,
            self.search_text is not None,
            self.search_offset > 0,
        )

    def parameters(self, site: int, dialect: str) -> dict[str, Any]:
        names = ParameterNames(site)
        # Offsets apart, as MariaDB takes no expression in LIMIT ... OFFSET.
        values: dict[str, Any] = {
            names.size: self.page.size,
            names.last_offset: max(self.page.size - 1, 0),
            names.search_offset: self.search_offset,
            names.past_page: self.search_offset + self.page.size,
        }
        for cursor, value_name, id_name in (
            (self.page.after, names.after_value, names.after_id),
            (self.page.before, names.before_value, names.before_id),
        ):
            if cursor is not None:
                values[id_name] = cursor.id
                if cursor.value is not None:
                    values[value_name] = cursor.value
        if self.task_filter is not None:
            for field in fields(self.task_filter):
                value = getattr(self.task_filter, field.name)
                if isinstance(value, tuple | list):
                    values.update({names.filter(field.name, i): item for i, item in enumerate(value)})
                elif value is not None:
                    values[names.filter(field.name)] = value
        if self.search_text is not None:
            values[names.search] = search_words(dialect, self.search_text)
        return values


@dataclass(frozen=True, slots=True)
class ParameterNames:
    """The bind parameters of one site: ``s<site>_<role>``."""

    site: int

    def _name(self, role: str) -> str:
        return f"s{self.site}_{role}"

    @property
    def size(self) -> str:
        return self._name("size")

    @property
    def last_offset(self) -> str:
        return self._name("last_offset")

    @property
    def after_value(self) -> str:
        return self._name("after_value")

    @property
    def after_id(self) -> str:
        return self._name("after_id")

    @property
    def before_value(self) -> str:
        return self._name("before_value")

    @property
    def before_id(self) -> str:
        return self._name("before_id")

    @property
    def search(self) -> str:
        return self._name("search")

    @property
    def search_offset(self) -> str:
        return self._name("search_offset")

    @property
    def past_page(self) -> str:
        """The offset of the first row past a search page."""
        return self._name("past_page")

    def filter(self, field: str, index: int | None = None) -> str:
        return self._name(f"f_{field}" if index is None else f"f_{field}_{index}")
