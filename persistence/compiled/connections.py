"""A Relay connection as one SQL value: the page's nodes or edges, pageInfo and totalCount in one
JSON object, with the resolvers' semantics (persistence/queries/pagination.py: keyset pages over
(sort column, id), NULL the smallest value, `last` read backward then shown in the list's order).

How the page's rows are picked depends on where the connection sits:
- at the root, or on SQLite: the page is a derived table, ``LIMIT`` rows in the order read (at the
  root only their ids, so MariaDB sorts nothing wide; SQLite lets a derived table see the enclosing
  row, MariaDB does not);
- nested, on MariaDB: the rows from the first one up to the page's last ("boundary") row, found by a
  subquery with ``LIMIT 1 OFFSET size - 1`` in the order read; ``JSON_ARRAYAGG(... ORDER BY)`` then
  puts them in the list's order.
Cursors are the text schema/core/cursors.py makes, built by the database (``Cursors``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    case,
    false,
    func,
    null,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.sql import FromClause, operators
from sqlalchemy.sql.elements import UnaryExpression

from persistence.compiled.lists import ListShape, ParameterNames
from persistence.compiled.spec import (
    Connection,
    EdgeCursor,
    EdgeNode,
    Edges,
    Nodes,
    PageInfo,
    PageInfoField,
    RootSelection,
    Selected,
    Tenancy,
    TotalCount,
    Typename,
)
from persistence.queries.pagination import SortKey, beyond, read_order
from persistence.queries.scope import visible_project_of
from persistence.queries.search import ranked_matches
from persistence.queries.tasks import filter_conditions, visible_tasks
from persistence.values import Cursor, PageRequest, TaskFilter

if TYPE_CHECKING:
    from persistence.compiled.sql import Builder

ORGANIZATION = "viewer_organization_id"
USER = "viewer_user_id"
# 1 for a platform operator, else 0.
OPERATOR = "viewer_is_operator"

# TaskFilter's fields that hold lists.
_LISTED = frozenset({"project_ids", "statuses", "priorities", "assignee_ids", "label_ids"})

# Below every date a task can hold: NULL sorts first, as MariaDB sorts it (nested pages compare rows
# with a row value, where NULL would compare as unknown).
_SMALLEST_DATE = "0001-01-01"


class ConnectionBuilder:
    def __init__(self, builder: Builder, shapes: dict[int, ListShape], sees_all_projects: bool) -> None:
        self.b = builder
        self.shapes = shapes
        self.sees_all_projects = sees_all_projects

    # --- which rows -------------------------------------------------------------------------------

    def visible_tasks(self, tasks: FromClause) -> list[ColumnElement[bool]]:
        """The resolvers' tenancy predicate over the viewer's bind parameters."""
        organization = bindparam(ORGANIZATION, type_=Integer)
        return visible_tasks(organization, self.sees_all_projects, bindparam(USER, type_=Integer), tasks)

    def tenancy(self, tenancy: Tenancy, rows: FromClause) -> list[ColumnElement[bool]]:
        """The rows of ``rows`` the viewer may read, as the resolvers' reads of that table keep them
        ("parent": nothing more than the enclosing row, which the viewer already reads)."""
        if tenancy == "tasks":
            return self.visible_tasks(rows)
        if tenancy == "projects":
            user = bindparam(USER, type_=Integer)
            return [
                rows.c.organization_id == bindparam(ORGANIZATION, type_=Integer),
                visible_project_of(self.sees_all_projects, user, rows.c.id),
            ]
        if tenancy in ("task_rows", "project_rows"):
            return [self._owned_by_visible(tenancy, rows)]
        if tenancy == "parent":
            return []
        return [self._the_viewers(tenancy, rows)]

    def _the_viewers(self, tenancy: Tenancy, rows: FromClause) -> ColumnElement[bool]:
        """Rows of the viewer's organization, the organization itself, the viewer's own rows, every
        row for a platform operator, or (``admin_rows``, ``endpoint_rows``) the organization's for an
        owner or admin: the statement is compiled per kind of viewer, so for anyone else that reads
        nothing."""
        organization = bindparam(ORGANIZATION, type_=Integer)
        if tenancy == "organization":
            return rows.c.organization_id == organization
        if tenancy == "own_organization":
            return rows.c.id == organization
        if tenancy == "own_rows":
            return rows.c.user_id == bindparam(USER, type_=Integer)
        if tenancy == "operators":
            return bindparam(OPERATOR, type_=Integer) == 1
        return self._the_admins(tenancy, rows) if self.sees_all_projects else false()

    def _the_admins(self, tenancy: Tenancy, rows: FromClause) -> ColumnElement[bool]:
        """For an owner or admin: the organization's rows, or (``endpoint_rows``) those of its live
        webhook endpoints."""
        organization = bindparam(ORGANIZATION, type_=Integer)
        if tenancy == "endpoint_rows":
            endpoints = self.b.table("webhook_endpoints").alias()
            live = select(endpoints.c.id).where(
                endpoints.c.organization_id == organization, endpoints.c.deleted_at.is_(None)
            )
            return rows.c.endpoint_id.in_(live)
        return rows.c.organization_id == organization

    def _owned_by_visible(self, tenancy: Tenancy, rows: FromClause) -> ColumnElement[bool]:
        """A row whose task (``task_rows``) or project (``project_rows``) the viewer may read."""
        if tenancy == "task_rows":
            tasks = self.b.table("tasks").alias()
            return rows.c.task_id.in_(select(tasks.c.id).where(*self.visible_tasks(tasks)))
        projects = self.b.table("projects").alias()
        return rows.c.project_id.in_(select(projects.c.id).where(*self.tenancy("projects", projects)))

    def conditions(
        self,
        spec: Connection,
        shape: ListShape,
        names: ParameterNames,
        rows: FromClause,
        parent: FromClause | None,
    ) -> list[ColumnElement[bool]]:
        """Every condition but the cursors': tenancy, the parent, liveness, filters and options."""
        found = self.tenancy(spec.tenancy, rows)
        if spec.parent_column is not None:
            if parent is None:
                raise ValueError(f"a nested list of {spec.table} without its parent row")
            found.append(rows.c[spec.parent_column] == parent.c.id)
        if spec.live_column is not None:
            found.append(rows.c[spec.live_column].is_(None))
        found += self._filter_conditions(shape, names, rows)
        for option, value in shape.options:
            found += _option(rows, option, value)
        return found

    def _filter_conditions(
        self, shape: ListShape, names: ParameterNames, rows: FromClause
    ) -> list[ColumnElement[bool]]:
        if any(name in _LISTED and count == 0 for name, count in shape.filters):
            # An empty list matches nothing (SQLAlchemy's empty IN, which would need an expanding
            # parameter the driver never gets here).
            return [false()]
        if shape.filters:
            return filter_conditions(self._filter(shape, names, rows), rows)
        return []

    def _filter(self, shape: ListShape, names: ParameterNames, rows: FromClause) -> TaskFilter:
        """A TaskFilter holding bind parameters where the request's values go."""
        columns = {
            "project_ids": "project_id",
            "statuses": "status",
            "priorities": "priority",
            "assignee_ids": "assignee_id",
            "label_ids": "id",
            "due_before": "due_date",
            "due_after": "due_date",
            "parent_id": "parent_id",
        }
        values: dict[str, Any] = {}
        for name, count in shape.filters:
            kind = rows.c[columns[name]].type
            if name in ("due_before", "due_after"):
                kind = Date()
            if name in ("statuses",):
                values[name] = tuple(bindparam(names.filter(name, i), type_=String) for i in range(count))
            elif name in ("due_before", "due_after", "parent_id"):
                values[name] = bindparam(names.filter(name), type_=kind)
            else:
                values[name] = tuple(bindparam(names.filter(name, i), type_=Integer) for i in range(count))
        return TaskFilter(**values)

    def sort_key(self, shape: ListShape, rows: FromClause) -> SortKey:
        return SortKey(rows.c[shape.order.column], rows.c.id, descending=shape.order.descending)

    def cursor_conditions(
        self, shape: ListShape, names: ParameterNames, rows: FromClause
    ) -> list[ColumnElement[bool]]:
        key = self.sort_key(shape, rows)
        value_type = rows.c[shape.order.column].type
        found: list[ColumnElement[bool]] = []
        for which, value_name, id_name, ascending in (
            (shape.after, names.after_value, names.after_id, not key.descending),
            (shape.before, names.before_value, names.before_id, key.descending),
        ):
            if which == "none":
                continue
            value = None if which == "null" else bindparam(value_name, type_=value_type)
            found.append(beyond(key, Cursor(value, bindparam(id_name, type_=Integer)), ascending))  # type: ignore[arg-type]
        return found

    # --- the connection's JSON --------------------------------------------------------------------

    def connection(
        self, spec: Connection, field: Selected | RootSelection, parent: FromClause | None
    ) -> Select[Any]:
        """The statement whose single value is the connection's JSON (a correlated subquery when
        ``parent``, the enclosing row, is given).

        The connection's object reads no row itself: each of its parts that reads the page's rows
        (nodes, edges, a cursor, a search's total) is an aggregate subquery of its own, so the others
        (a count, pageInfo's flags) never depend on the page having rows. (Over the rows, MariaDB
        answers an aggregate query's other values with NULL when its optimizer proves that no row can
        match, and an outer join to a one-row table, which would work around that, gave wrong rows
        where the parent row is read as a constant: 10.11.)"""
        shape = self.shapes[field.site]
        names = ParameterNames(field.site)
        page = (
            self._search_page(spec, shape, names)
            if shape.searched
            else self._list_page(spec, shape, names, parent)
        )
        # An empty page reads no row; a page read in one query (a search) reads its rows only when a
        # field needs them, else its FROM would give a row per page row.
        if shape.empty or (page.inline and not any(_reads_rows(f, shape) for f in field.children)):
            page = page.without_rows()
        if spec.bare:
            nodes = self._aggregate(self.b.object(page.rows, field.children), page.forward, is_json=True)
            return self._over_rows(nodes, page, parent)
        pairs: list[ColumnElement[Any]] = []
        for selected in field.children:
            pairs.append(self.b.name_literal(selected.key))
            pairs.append(self._part(page, selected, parent))
        statement = select(func.json_object(*pairs))
        if page.inline and page.reads_rows:
            statement = statement.select_from(page.source).where(*page.where)
        return statement if parent is None else statement.correlate(parent)

    def _over_rows(
        self, aggregate: ColumnElement[Any], page: _Page, parent: FromClause | None
    ) -> Select[Any]:
        """The statement of one aggregate over the page's rows (always one row)."""
        statement = select(aggregate).select_from(page.source).where(*page.where)
        return _correlated(statement, parent)

    def _rows_value(
        self, aggregate: ColumnElement[Any], page: _Page, parent: FromClause | None, *, is_json: bool
    ) -> ColumnElement[Any]:
        """One aggregate over the page's rows as a value of the connection's object."""
        if page.inline:
            return aggregate
        value = self._over_rows(aggregate, page, parent).scalar_subquery()
        return self.b.as_json(value) if is_json else value

    def _list_page(
        self, spec: Connection, shape: ListShape, names: ParameterNames, parent: FromClause | None
    ) -> _Page:
        rows, source, where = self._page_rows(spec, shape, names, self.b.table(spec.table), parent)
        cursors = Cursors(self.b, shape)

        def total() -> ColumnElement[Any]:
            counted = self.b.table(spec.table).alias()
            listed = select(func.count()).select_from(counted)
            where = self.conditions(spec, shape, names, counted, parent)
            return _correlated(listed.where(*where), parent).scalar_subquery()

        return _Page(
            rows,
            source,
            where,
            self._forward_order(shape, rows),
            lambda: cursors.of(rows),
            total,
            lambda: self._more(spec, shape, names, parent),
            # As persistence/queries/pagination.py's to_page: the side read toward has more when a
            # row lies past the page; the other side has more when the page starts at a cursor.
            "hasPreviousPage" if shape.backward else "hasNextPage",
            (shape.before if shape.backward else shape.after) != "none",
        )

    def _search_page(self, spec: Connection, shape: ListShape, names: ParameterNames) -> _Page:
        """searchTasks' page: the ranked matches (persistence/queries/search.py), best first, from an
        offset (the cursor holds a row's rank); the total rides along as a window count."""
        words = bindparam(names.search, type_=String)
        filters = shape.filters

        def ranked() -> FromClause:
            tasks = self.b.table(spec.table).alias()
            where = [*self._filter_conditions(shape, names, tasks)]
            # An owner's search is read through the FULLTEXT index unless a project filter bounds it.
            by_tenancy = not self.sees_all_projects or any(name == "project_ids" for name, _ in filters)
            organization, user = bindparam(ORGANIZATION, type_=Integer), bindparam(USER, type_=Integer)
            found = ranked_matches(
                "sqlite" if self.b.sqlite else "mysql",
                organization,
                self.sees_all_projects,
                user,
                words,
                where,
                by_tenancy=by_tenancy,
                tasks=tasks,
            )
            return found.subquery("ranked")

        matches = ranked()
        best_first = [matches.c.score.desc(), matches.c.id.desc()]
        numbered = select(
            matches.c.id,
            func.count().over().label("total"),
            func.row_number().over(order_by=best_first).label("position"),
        )
        offset = bindparam(names.search_offset, type_=Integer)
        page = numbered.order_by(*best_first).limit(bindparam(names.size, type_=Integer)).offset(offset)
        picked = page.subquery("page")
        rows = self.b.table(spec.table).alias()
        cursors = Cursors(self.b, shape)

        def counted() -> ColumnElement[Any]:
            return select(func.count()).select_from(ranked()).scalar_subquery()

        def total() -> ColumnElement[Any]:
            # A page past the end holds no row to carry the total: then it is counted. A first page
            # holds the best matches, so without a row there is no match: 0, and no second copy of the
            # search in the statement (each MATCH makes InnoDB run the word search once more, whether
            # or not the copy is ever evaluated).
            if not shape.started:
                return func.coalesce(func.max(picked.c.total), self.b.number(0))
            return func.coalesce(func.max(picked.c.total), counted())

        past_page = bindparam(names.past_page, type_=Integer)

        def more() -> ColumnElement[Any]:
            # More matches than the pages up to this one hold.
            return case((total() > past_page, self.b.number(1)), else_=null())

        def counted_more() -> ColumnElement[Any]:
            return case((counted() > past_page, self.b.number(1)), else_=null())

        return _Page(
            rows,
            rows.join(picked, picked.c.id == rows.c.id),
            [],
            [picked.c.position.asc()],
            # A row's rank counts from 0: the position the window gives, less one.
            lambda: cursors.of_value(picked.c.position - self.b.number(1), rows),
            total,
            more,
            "hasNextPage",
            shape.started,
            rowless=(counted, counted_more),
            inline=True,
        )

    def _part(self, page: _Page, selected: Selected, parent: FromClause | None) -> ColumnElement[Any]:
        part = selected.spec
        if isinstance(part, Typename):
            return self.b.name_literal(part.name)
        if isinstance(part, TotalCount):
            return page.total()
        if isinstance(part, Nodes | Edges) and not page.reads_rows:
            return func.json_array()
        if isinstance(part, Nodes):
            nodes = self._aggregate(self.b.object(page.rows, selected.children), page.forward, is_json=True)
            return self._rows_value(nodes, page, parent, is_json=True)
        if isinstance(part, Edges):
            pairs: list[ColumnElement[Any]] = []
            for edge_field in selected.children:
                pairs.append(self.b.name_literal(edge_field.key))
                if isinstance(edge_field.spec, EdgeCursor):
                    pairs.append(page.cursor())
                elif isinstance(edge_field.spec, EdgeNode):
                    pairs.append(self.b.object(page.rows, edge_field.children))
                elif isinstance(edge_field.spec, Typename):
                    pairs.append(self.b.name_literal(edge_field.spec.name))
                else:
                    raise ValueError(f"{type(edge_field.spec).__name__} is not a field of an edge")
            edges = self._aggregate(func.json_object(*pairs), page.forward, is_json=True)
            return self._rows_value(edges, page, parent, is_json=True)
        if isinstance(part, PageInfo):
            pairs = []
            for info_field in selected.children:
                pairs.append(self.b.name_literal(info_field.key))
                pairs.append(self._page_info(page, info_field, parent))
            return func.json_object(*pairs)
        raise ValueError(f"{type(part).__name__} is not a field of a connection")

    def _page_info(self, page: _Page, info_field: Selected, parent: FromClause | None) -> ColumnElement[Any]:
        part = info_field.spec
        if isinstance(part, Typename):
            return self.b.name_literal(part.name)
        if not isinstance(part, PageInfoField):
            raise ValueError(f"{type(part).__name__} is not a field of PageInfo")
        if part.name in ("startCursor", "endCursor"):
            if not page.reads_rows:
                return null()
            return self._rows_value(
                self._edge_cursor(page, first=part.name == "startCursor"), page, parent, is_json=False
            )
        if part.name == page.read_toward:
            return self.b.boolean(page.more().is_not(None))
        return self.b.boolean(true() if page.started else false())

    def _edge_cursor(self, page: _Page, *, first: bool) -> ColumnElement[Any]:
        """The page's first or last row's cursor (an aggregate over its rows): text, or NULL."""
        if self.b.sqlite:
            listed = self._aggregate(page.cursor(), page.forward, is_json=False)
            return self.b.json_element(listed, first=first)
        # MariaDB resolves `$[last]` once per statement, from the first array it meets: a later
        # row's shorter array gives NULL (10.11). The last cursor is the first of the reversed list.
        order = page.forward if first else [_reversed(term) for term in page.forward]
        listed = self._aggregate(page.cursor(), order, is_json=False)
        return func.json_unquote(self.b.json_element(listed, first=True))

    def _more(
        self, spec: Connection, shape: ListShape, names: ParameterNames, parent: FromClause | None
    ) -> ColumnElement[Any]:
        """The id of the first row past the page in the order read (NULL: the page is the last)."""
        inner = self.b.table(spec.table).alias()
        key = self.sort_key(shape, inner)
        past = (
            select(inner.c.id)
            .where(
                *self.conditions(spec, shape, names, inner, parent),
                *self.cursor_conditions(shape, names, inner),
            )
            .order_by(*read_order(key, _request(shape)))
            .limit(1)
            .offset(bindparam(names.size, type_=Integer))
        )
        return _correlated(past, parent).scalar_subquery()

    def _aggregate(
        self, element: ColumnElement[Any], forward: list[ColumnElement[Any]], *, is_json: bool
    ) -> ColumnElement[Any]:
        """The JSON array of ``element`` (JSON text, or a plain value) over the page's rows in the
        list's order ([] for none)."""
        if self.b.sqlite:
            # SQLite aggregates in the order its FROM gives the rows (a derived table in that order).
            return func.json_group_array(func.json(element) if is_json else element)
        ordered = func.json_arrayagg(element).aggregate_order_by(*forward)
        return func.coalesce(ordered, func.json_array())

    # --- the page's rows --------------------------------------------------------------------------

    def _page_rows(
        self,
        spec: Connection,
        shape: ListShape,
        names: ParameterNames,
        table: Table,
        parent: FromClause | None,
    ) -> tuple[FromClause, FromClause, list[ColumnElement[bool]]]:
        """The page's rows (whose columns the nodes read), the FROM that holds them, and the
        conditions that keep only them."""
        if shape.empty:
            nothing = table.alias()
            return nothing, nothing, [false()]
        inner = table.alias()
        key = self.sort_key(shape, inner)
        conditions = [
            *self.conditions(spec, shape, names, inner, parent),
            *self.cursor_conditions(shape, names, inner),
        ]
        limit = bindparam(names.size, type_=Integer)
        in_read_order = read_order(key, _request(shape))
        if self.b.sqlite:
            read = select(inner).where(*conditions).order_by(*in_read_order).limit(limit)
            picked = (read if parent is None else read.correlate(parent)).subquery()
            listed = select(picked).order_by(*self._forward_order(shape, picked))
            ordered = (listed if parent is None else listed.correlate(parent)).subquery()
            return ordered, ordered, []
        rows = table.alias()
        if parent is None:
            ids = select(inner.c.id).where(*conditions).order_by(*in_read_order).limit(limit).subquery("page")
            return rows, rows.join(ids, ids.c.id == rows.c.id), []
        own = [
            *self.conditions(spec, shape, names, rows, parent),
            *self.cursor_conditions(shape, names, rows),
        ]
        boundary = _correlated(
            select(*self._row_value(shape, inner))
            .where(*conditions)
            .order_by(*in_read_order)
            .limit(1)
            .offset(bindparam(names.last_offset, type_=Integer)),
            parent,
        )
        boundary_id = boundary.with_only_columns(inner.c.id).scalar_subquery()
        mine = tuple_(*self._row_value(shape, rows))
        last = boundary.scalar_subquery()
        # In the order read, a row of the page comes no later than the boundary.
        within = mine >= last if shape.order.descending != shape.backward else mine <= last
        return rows, rows, [*own, or_(boundary_id.is_(None), within)]

    def _row_value(self, shape: ListShape, rows: FromClause) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        column: ColumnElement[Any] = rows.c[shape.order.column]
        if shape.order.nullable:
            column = func.coalesce(column, self.b.text(_SMALLEST_DATE))
        return column, rows.c.id

    def _forward_order(self, shape: ListShape, rows: FromClause) -> list[ColumnElement[Any]]:
        column, ident = rows.c[shape.order.column], rows.c.id
        if shape.order.descending:
            return [column.desc(), ident.desc()]
        return [column.asc(), ident.asc()]


def _reversed(term: ColumnElement[Any]) -> ColumnElement[Any]:
    """An ORDER BY term (``column ASC`` or ``column DESC``) the other way round."""
    if not isinstance(term, UnaryExpression) or term.element is None:
        raise ValueError(f"not an ordering: {term}")
    column: ColumnElement[Any] = term.element
    return column.asc() if term.modifier is operators.desc_op else column.desc()


def _reads_rows(selected: Selected, shape: ListShape) -> bool:
    """Whether a connection's field reads the page's rows: its nodes, edges and cursors do, and a
    search's total and next page (its window count rides on the rows)."""
    part = selected.spec
    if isinstance(part, Nodes | Edges):
        return True
    if isinstance(part, TotalCount):
        return shape.searched
    if isinstance(part, PageInfo):
        for info in selected.children:
            if isinstance(info.spec, PageInfoField) and info.spec.name in ("startCursor", "endCursor"):
                return True
            if shape.searched and isinstance(info.spec, PageInfoField) and info.spec.name == "hasNextPage":
                return True
    return False


def _correlated(statement: Select[Any], parent: FromClause | None) -> Select[Any]:
    """A subquery that refers to the enclosing row, maybe from two levels down (SQLAlchemy
    correlates only to the SELECT right around a subquery unless told)."""
    return statement if parent is None else statement.correlate(parent)


def _request(shape: ListShape) -> PageRequest:
    """What read_order needs of a page: its direction."""
    return PageRequest(size=0, backward=shape.backward)


def _option(rows: FromClause, option: str, value: bool | None) -> list[ColumnElement[bool]]:
    if option == "archived":
        if value is None:
            return []
        column = rows.c.archived_at
        return [column.is_not(None) if value else column.is_(None)]
    if option == "include_deactivated":
        return [] if value else [rows.c.deactivated_at.is_(None)]
    raise ValueError(f"no option {option}")


@dataclass(frozen=True)
class _Page:
    """A connection's page as its fields read it: the rows (whose columns the nodes read), the FROM
    holding them and the conditions keeping them, the list's order, and how to build a row's cursor,
    the total, the first row past the page (NULL: none), which side that is, and whether the page
    starts at a cursor (the other side's "has more")."""

    rows: FromClause
    source: FromClause
    where: list[ColumnElement[bool]]
    forward: list[ColumnElement[Any]]
    cursor: Callable[[], ColumnElement[Any]]
    total: Callable[[], ColumnElement[Any]]
    more: Callable[[], ColumnElement[Any]]
    read_toward: str
    started: bool
    # The total and the first row past the page where no row of the page is read (None: ``total``
    # and ``more`` read none anyway).
    rowless: tuple[Callable[[], ColumnElement[Any]], Callable[[], ColumnElement[Any]]] | None = None
    # False: the statement reads none of the page's rows (no FROM).
    reads_rows: bool = True
    # The connection's object is one aggregate query over the page's rows (a search: its page is a
    # derived table read once, its total and next page ride on the rows), not a subquery per part.
    inline: bool = False

    def without_rows(self) -> _Page:
        """The page when the statement reads none of its rows: no nodes, no cursors."""
        if self.rowless is None:
            return replace(self, reads_rows=False)
        total, more = self.rowless
        return replace(self, reads_rows=False, total=total, more=more)


class Cursors:
    """A row's cursor as schema/core/cursors.py encodes it: base64url (unpadded) of the JSON array
    ``[order name, sort value, id]`` as orjson writes it."""

    def __init__(self, builder: Builder, shape: ListShape) -> None:
        self.b = builder
        self.order = shape.order

    def of(self, rows: FromClause) -> ColumnElement[Any]:
        return self.of_value(rows.c[self.order.column], rows)

    def of_value(self, sort_value: ColumnElement[Any], rows: FromClause) -> ColumnElement[Any]:
        value = self.b.json_text(sort_value, self.order.kind)
        text = self.b.concat(f'["{self.order.name}",', value, ",", self.b.text_of(rows.c.id), "]")
        return self.b.base64url(text)
