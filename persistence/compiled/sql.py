"""A planned root field as one SQL statement whose single value is the field's JSON, per dialect.

MariaDB builds it with JSON_OBJECT / JSON_ARRAYAGG, SQLite with json_object / json_group_array; every
nested object or list is a correlated subquery, re-read as JSON (JSON_EXTRACT / json()) so that the
enclosing object embeds it instead of quoting it. The viewer's tenancy is the resolvers' own predicate
(persistence/queries/tasks.py ``visible_tasks``, scope.py's visible projects, the organization's rows:
``spec.Tenancy``) over bind parameters, so one statement serves every viewer of a kind (owners and
admins, or members and guests).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CHAR,
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import FromClause

from persistence.compiled.connections import OPERATOR, ORGANIZATION, USER, ConnectionBuilder
from persistence.compiled.ids import BASE64URL_FUNCTION, GLOBAL_ID_FUNCTION, JSON_NUMBER_FUNCTION
from persistence.compiled.lists import CursorKind, ListShape
from persistence.compiled.spec import (
    ById,
    ByIdOrKey,
    Column,
    Connection,
    GlobalId,
    IdPath,
    KeyAndNumber,
    LinkedList,
    LinkRows,
    LiveCount,
    OpenTaskCount,
    OwnedList,
    Prefixed,
    RootSelection,
    SameRow,
    Selected,
    ToOne,
    Typename,
    ViewerRole,
    ViewerRow,
)
from persistence.compiled.spec import Column as ColumnSpec
from persistence.models import Base
from persistence.queries.projects import open_task_count, viewer_role

OBJECT_ID = "object_id"
KEY = "key"
NUMBER = "number"
# The request's own parameters (the others a statement holds are constants it fixes).
_REQUEST = (ORGANIZATION, USER, OPERATOR, OBJECT_ID, KEY, NUMBER)

# Response keys and type names are GraphQL names: safe to write into the statement as literals.
_GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """The statement's text for the driver, the order its positional parameters take, the values of
    the ones the statement fixes, how the request's values become the driver's (a datetime for a UTC
    column, an enum's stored value), and the text with named parameters (for people)."""

    sql: str
    parameter_names: tuple[str, ...]
    constants: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]
    readable: str

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...]:
        merged = {**self.constants, **values}
        processors = self.processors
        return tuple(
            processors[name](merged[name]) if name in processors else merged[name]
            for name in self.parameter_names
        )


class Builder:
    """Builds one root's statement; ``shapes``: each argument site's shape (persistence/compiled/lists.py)."""

    def __init__(self, dialect: str, shapes: dict[int, ListShape], sees_all_projects: bool) -> None:
        self.sqlite = dialect == "sqlite"
        self.connections = ConnectionBuilder(self, shapes, sees_all_projects)

    def table(self, name: str) -> Table:
        return Base.metadata.tables[name]

    def name_literal(self, text: str) -> ColumnElement[Any]:
        if not _GRAPHQL_NAME.match(text):
            raise ValueError(f"not a GraphQL name: {text!r}")
        return literal_column(f"'{text}'")

    def text(self, value: str) -> ColumnElement[Any]:
        """A constant string written into the statement: the driver has no parameter to escape on every
        request (the statement's constants are the builder's own, never a request's value)."""
        quoted = value.replace("'", "''")
        if not self.sqlite:
            quoted = quoted.replace("\\", "\\\\")
        return literal_column(f"'{quoted}'")

    def number(self, value: int) -> ColumnElement[Any]:
        return literal_column(str(int(value)))

    def as_json(self, text: ColumnElement[Any]) -> ColumnElement[Any]:
        """A subquery's JSON text, re-read as JSON so that an enclosing object embeds it."""
        if self.sqlite:
            return func.json(text)
        return func.json_extract(text, literal_column("'$'"))

    def json_element(self, array: ColumnElement[Any], *, first: bool) -> ColumnElement[Any]:
        """The first or the last element of a JSON array (null for none)."""
        if self.sqlite:
            return func.json_extract(array, literal_column("'$[0]'" if first else "'$[#-1]'"))
        if not first:
            # MariaDB 10.11 resolves `$[last]` once per statement (connections.py reverses the list).
            raise ValueError("no last element on MariaDB")
        return func.json_extract(array, literal_column("'$[0]'"))

    def concat(self, *parts: ColumnElement[Any] | str) -> ColumnElement[Any]:
        if self.sqlite:
            # No concat() before SQLite 3.44.
            first, *rest = [self.text(part) if isinstance(part, str) else part for part in parts]
            for part in rest:
                first = first.op("||")(part)
            return first
        return func.concat(*(self.text(part) if isinstance(part, str) else part for part in parts))

    def text_of(self, number: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(number, Text if self.sqlite else CHAR)

    def datetime(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """``datetime.isoformat()`` of the aware UTC value: no fraction when the microseconds are 0."""
        if self.sqlite:
            # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' text (SQLAlchemy's SQLite format).
            n = self.number
            fraction = func.substr(column, n(21), n(6))
            whole = or_(fraction == self.text(""), fraction == self.text("000000"))
            shown = case((whole, self.text("")), else_=self.concat(".", fraction))
            day, time = func.substr(column, n(1), n(10)), func.substr(column, n(12), n(8))
            return self.concat(day, "T", time, shown, "+00:00")
        no_fraction = func.microsecond(column) == self.number(0)
        shown = case((no_fraction, self.text("")), else_=func.date_format(column, self.text(".%f")))
        return self.concat(func.date_format(column, self.text("%Y-%m-%dT%H:%i:%s")), shown, "+00:00")

    def json_text(self, column: ColumnElement[Any], kind: CursorKind) -> ColumnElement[Any]:
        """The value's JSON text as orjson writes it (a cursor's sort value)."""
        if kind == "datetime":
            return self.concat('"', self.datetime(column), '"')
        if kind == "date":
            dated = self.concat('"', self.text_of(column), '"')
            return func.coalesce(dated, self.text("null"))
        if kind == "int":
            return self.text_of(column)
        if kind == "str":
            return func.json_quote(column)
        if self.sqlite:
            return getattr(func, JSON_NUMBER_FUNCTION)(column)  # type: ignore[no-any-return]
        # MariaDB writes a double in its shortest form, as orjson does, but a whole one without ".0".
        whole = and_(column == func.floor(column), func.abs(column) < literal_column("1e15"))
        return case((whole, self.concat(cast(column, CHAR), ".0")), else_=cast(column, CHAR))

    def base64url(self, text: ColumnElement[Any]) -> ColumnElement[Any]:
        """base64url without padding (schema/core/ids.py's and cursors.py's encoding)."""
        if self.sqlite:
            return getattr(func, BASE64URL_FUNCTION)(text)  # type: ignore[no-any-return]
        # TO_BASE64 breaks its output every 76 characters: the breaks go too.
        t = self.text
        encoded = func.replace(func.to_base64(text), t("\n"), t(""))
        return func.replace(
            func.replace(func.replace(encoded, t("="), t("")), t("+"), t("-")), t("/"), t("_")
        )

    def by_code_point(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """Text compared as Python compares it: SQLite's BINARY already does; MariaDB's utf8mb4_bin."""
        if self.sqlite or not isinstance(column.type, String):
            return column
        return column.collate("utf8mb4_bin")

    def boolean(self, condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return self.as_json(case((condition, self.text("true")), else_=self.text("false")))

    def global_id(self, type_name: str, id_column: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.sqlite:
            return getattr(func, GLOBAL_ID_FUNCTION)(self.text(type_name), id_column)  # type: ignore[no-any-return]
        return self.base64url(self.concat(f"{type_name}:", id_column))

    def array(
        self, element: ColumnElement[Any], source: Select[Any], outer: FromClause | None = None
    ) -> ColumnElement[Any]:
        """The JSON array of ``element`` over ``source``'s rows, in ``source``'s order; [] for none.
        ``outer``: the row ``source`` refers to (a FROM subquery correlates only when told)."""
        if self.sqlite:
            # SQLite aggregates in the order its subquery gives the rows.
            listed = source.add_columns(element.label("element"))
            if outer is not None:
                listed = listed.correlate(outer)
            rows = listed.subquery()
            aggregated = select(func.json_group_array(func.json(rows.c.element))).scalar_subquery()
        else:
            ordered = func.json_arrayagg(element)
            order = list(source._order_by_clauses)
            if order:
                ordered = ordered.aggregate_order_by(*order)  # type: ignore[assignment]
            aggregated = source.with_only_columns(ordered).order_by(None).scalar_subquery()
        return func.coalesce(self.as_json(aggregated), func.json_array())

    def object(self, table: FromClause, selected: tuple[Selected, ...]) -> ColumnElement[Any]:
        pairs: list[ColumnElement[Any]] = []
        for field in selected:
            pairs += [self.name_literal(field.key), self.value(table, field)]
        return func.json_object(*pairs)

    def value(self, table: FromClause, field: Selected) -> ColumnElement[Any]:
        spec = field.spec
        if isinstance(spec, Column | GlobalId | IdPath | Prefixed | Typename):
            return self.scalar(table, spec)
        if isinstance(spec, SameRow):
            return self.object(table, field.children)
        if isinstance(spec, Connection):
            listed = self.connections.connection(spec, field, table)
            return self.as_json(listed.scalar_subquery())
        return self.related(table, field)

    def scalar(
        self, table: FromClause, spec: Column | GlobalId | IdPath | Prefixed | Typename
    ) -> ColumnElement[Any]:
        """A value of this row alone."""
        if isinstance(spec, Column):
            return self.column(table.c[spec.name], spec)
        if isinstance(spec, GlobalId):
            column = table.c[spec.column]
            if spec.column == "id":
                return self.global_id(spec.type_name, column)
            # Another row's id, which may be null (a test delivery's event).
            return case((column.is_(None), null()), else_=self.global_id(spec.type_name, column))
        if isinstance(spec, Prefixed):
            return self.concat(spec.prefix, table.c.id)
        if isinstance(spec, IdPath):
            return self.concat(spec.prefix, self.global_id(spec.type_name, table.c.id))
        return self.name_literal(spec.name)

    def related(self, table: FromClause, field: Selected) -> ColumnElement[Any]:
        """A value read from other rows, by a correlated subquery."""
        spec = field.spec
        if isinstance(spec, ToOne):
            other = self.table(spec.table).alias()
            found = select(self.object(other, field.children)).where(other.c.id == table.c[spec.foreign_key])
            if spec.same_organization:
                found = found.where(other.c.organization_id == table.c.organization_id)
            if spec.tenancy is not None:
                found = found.where(*self.connections.tenancy(spec.tenancy, other))
            return self.as_json(found.scalar_subquery())
        if isinstance(spec, KeyAndNumber):
            relation = table.c[spec.relation]
            other = self.table(next(iter(relation.foreign_keys)).column.table.name).alias()
            key = select(other.c[spec.key_column]).where(other.c.id == relation).scalar_subquery()
            return self.concat(key, "-", table.c[spec.number_column])
        if isinstance(spec, LinkedList):
            link, linked = self.table(spec.link_table).alias(), self.table(spec.table).alias()
            source = (
                select()
                .select_from(link.join(linked, linked.c.id == link.c[spec.link_other]))
                .where(
                    link.c[spec.link_own] == table.c.id,
                    linked.c[spec.same_column] == table.c[spec.same_column],
                )
                .order_by(*(self.by_code_point(linked.c[name]) for name in spec.order_by))
            )
            return self.array(self.object(linked, field.children), source, table)
        if isinstance(spec, LiveCount):
            counted = self.table(spec.table).alias()
            live = select(func.count()).where(
                counted.c[spec.foreign_key] == table.c.id, counted.c[spec.deleted_column].is_(None)
            )
            return live.scalar_subquery()
        return self.project_related(table, field)

    def project_related(self, table: FromClause, field: Selected) -> ColumnElement[Any]:
        """A value read from other rows that projects and users show (counts, roles, their lists)."""
        spec = field.spec
        if isinstance(spec, OpenTaskCount):
            if spec.foreign_key != "project_id":
                raise ValueError("open tasks are counted by their project")
            return open_task_count(table)
        if isinstance(spec, ViewerRole):
            return func.upper(viewer_role(table, bindparam(USER, type_=Integer)))
        if isinstance(spec, OwnedList):
            owned = self.table(spec.table).alias()
            source = (
                select()
                .select_from(owned)
                .where(owned.c[spec.foreign_key] == table.c.id)
                .order_by(*(owned.c[name] for name in spec.order_by))
            )
            return self.array(self.object(owned, field.children), source, table)
        if isinstance(spec, LinkRows):
            link, other = self.table(spec.link_table).alias(), self.table(spec.table).alias()
            source = (
                select()
                .select_from(link.join(other, other.c.id == link.c[spec.link_other]))
                .where(link.c[spec.link_own] == table.c.id, *self.connections.tenancy(spec.tenancy, other))
                .order_by(*(other.c[name] for name in spec.order_by))
            )
            return self.array(self.object(link, field.children), source, table)
        raise ValueError(f"{type(spec).__name__} is not a field of a row")

    def column(self, column: ColumnElement[Any], spec: ColumnSpec) -> ColumnElement[Any]:
        kind = spec.kind
        if kind == "enum":
            return func.upper(column)
        if kind == "datetime":
            return self.datetime(column)
        if kind == "present":
            return self.boolean(column.is_not(None))
        if kind == "bool":
            return self.boolean(column == true())
        if kind == "json":
            return self.as_json(column)
        return column


def root_statement(
    dialect: str, root: RootSelection, shapes: dict[int, ListShape], sees_all_projects: bool
) -> Select[Any]:
    builder = Builder(dialect, shapes, sees_all_projects)
    spec = root.spec
    if isinstance(spec, Connection):
        return builder.connections.connection(spec, root, None)
    table = builder.table(spec.table)
    if isinstance(spec, ViewerRow):
        return select(builder.object(table, root.children)).where(
            table.c.id == bindparam(USER, type_=Integer),
            table.c.organization_id == bindparam(ORGANIZATION, type_=Integer),
        )
    visible = builder.connections.tenancy(spec.tenancy, table)
    found = select(builder.object(table, root.children)).select_from(table)
    if isinstance(spec, ById):
        live = [] if spec.live_column is None else [table.c[spec.live_column].is_(None)]
        return found.where(table.c.id == bindparam(OBJECT_ID, type_=Integer), *visible, *live)
    if isinstance(spec, ByIdOrKey):
        # One of the two is bound, the other NULL (which matches no row).
        by_id = table.c.id == bindparam(OBJECT_ID, type_=Integer)
        by_key = table.c[spec.key_column] == bindparam(KEY, type_=String)
        return found.where(or_(by_id, by_key), *visible)
    relation = table.c[spec.relation]
    keyed = next(iter(relation.foreign_keys)).column.table
    named = select(keyed.c.id).where(
        keyed.c[spec.key_column] == bindparam(KEY, type_=String),
        keyed.c.organization_id == bindparam(ORGANIZATION, type_=Integer),
    )
    return found.where(
        relation == named.scalar_subquery(),
        table.c[spec.number_column] == bindparam(NUMBER, type_=Integer),
        *visible,
    )


_SITE_PARAMETER = re.compile(r"^s\d+_")
# ``nodes(ids:)``'s ids of one type: object_id_0, object_id_1...
_MANY_IDS = re.compile(rf"^{OBJECT_ID}_\d+$")


def object_ids(count: int) -> list[str]:
    """The names of the bind parameters a statement reading ``count`` rows by id takes."""
    return [f"{OBJECT_ID}_{number}" for number in range(count)]


def many_statement(
    dialect: str, root: RootSelection, count: int, shapes: dict[int, ListShape], sees_all_projects: bool
) -> Select[Any]:
    """``nodes(ids:)``'s rows of one type: each visible row's id and its object's JSON, one row each
    (the ids are ``count`` bind parameters: the text is compiled once per count)."""
    spec = root.spec
    if not isinstance(spec, ById):
        raise TypeError(f"nodes reads rows by id, not by {type(spec).__name__}")
    builder = Builder(dialect, shapes, sees_all_projects)
    table = builder.table(spec.table)
    visible = builder.connections.tenancy(spec.tenancy, table)
    live = [] if spec.live_column is None else [table.c[spec.live_column].is_(None)]
    ids = [bindparam(name, type_=Integer) for name in object_ids(count)]
    return (
        select(table.c.id, builder.object(table, root.children))
        .select_from(table)
        .where(table.c.id.in_(ids), *visible, *live)
    )


def compile_root(
    dialect: Dialect,
    root: RootSelection,
    shapes: dict[int, ListShape],
    sees_all_projects: bool,
    *,
    many: int | None = None,
) -> CompiledStatement:
    """The root's statement; ``many``: as ``nodes(ids:)`` reads that many rows of the root's type."""
    statement = (
        root_statement(dialect.name, root, shapes, sees_all_projects)
        if many is None
        else many_statement(dialect.name, root, many, shapes, sees_all_projects)
    )
    compiled = statement.compile(dialect=dialect)
    # The same dialect with named parameters: the text people read (logs, docs, reports).
    named: Any = type(dialect)
    readable = statement.compile(dialect=named(paramstyle="named"))
    names = tuple(compiled.positiontup or ())

    def from_request(name: str) -> bool:
        return (
            name in _REQUEST or _SITE_PARAMETER.match(name) is not None or _MANY_IDS.match(name) is not None
        )

    constants = {name: value for name, value in compiled.params.items() if not from_request(name)}
    processors: dict[str, Callable[[Any], Any]] = {}
    for name, bind in compiled.binds.items():
        processor = bind.type._cached_bind_processor(dialect)
        if processor is not None and from_request(name):
            processors[name] = processor
    return CompiledStatement(compiled.string, names, constants, processors, readable.string)
