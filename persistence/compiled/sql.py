"""A planned root field as one SQL statement whose single value is the field's JSON, per dialect.

MariaDB builds it with JSON_OBJECT / JSON_ARRAYAGG, SQLite with json_object / json_group_array; every
nested object or list is a correlated subquery, re-read as JSON (JSON_EXTRACT / json()) so that the
enclosing object embeds it instead of quoting it. The viewer's tenancy is the resolvers' own predicate
(persistence/queries/tasks.py ``visible_tasks``) over bind parameters, so one statement serves every
viewer of a kind (owners and admins, or members and guests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import FromClause

from persistence.compiled.ids import GLOBAL_ID_FUNCTION
from persistence.compiled.spec import (
    ById,
    ByKey,
    Column,
    GlobalId,
    KeyAndNumber,
    LinkedList,
    LiveCount,
    Nodes,
    RootSelection,
    Selected,
    ToOne,
    TotalCount,
    Typename,
)
from persistence.models import Base
from persistence.queries.tasks import visible_tasks

ORGANIZATION = "viewer_organization_id"
USER = "viewer_user_id"
OBJECT_ID = "object_id"
FIRST = "first"
KEY = "key"
NUMBER = "number"

# Response keys and type names are GraphQL names: safe to write into the statement as literals.
_GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """The statement's text for the driver, the order its positional parameters take, the values of
    the ones the statement fixes, and the text with named parameters (for people)."""

    sql: str
    parameter_names: tuple[str, ...]
    constants: dict[str, Any]
    readable: str

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...]:
        merged = {**self.constants, **values}
        return tuple(merged[name] for name in self.parameter_names)


def _literal(text: str) -> ColumnElement[Any]:
    if not _GRAPHQL_NAME.match(text):
        raise ValueError(f"not a GraphQL name: {text!r}")
    return literal_column(f"'{text}'")


class _Builder:
    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def table(self, name: str) -> Table:
        return Base.metadata.tables[name]

    def as_json(self, text: ColumnElement[Any]) -> ColumnElement[Any]:
        """A subquery's JSON text, re-read as JSON so that an enclosing object embeds it."""
        if self.sqlite:
            return func.json(text)
        return func.json_extract(text, literal_column("'$'"))

    def concat(self, *parts: ColumnElement[Any] | str) -> ColumnElement[Any]:
        if self.sqlite:
            # No concat() before SQLite 3.44.
            joined: ColumnElement[Any] = literal(parts[0]) if isinstance(parts[0], str) else parts[0]
            for part in parts[1:]:
                joined = joined.op("||")(part)
            return joined
        return func.concat(*parts)

    def datetime(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """``datetime.isoformat()`` of the aware UTC value: no fraction when the microseconds are 0."""
        if self.sqlite:
            # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' text (SQLAlchemy's SQLite format).
            fraction = func.substr(column, 21, 6)
            shown = case((or_(fraction == "", fraction == "000000"), ""), else_=self.concat(".", fraction))
            return self.concat(func.substr(column, 1, 10), "T", func.substr(column, 12, 8), shown, "+00:00")
        shown = case((func.microsecond(column) == 0, ""), else_=func.date_format(column, ".%f"))
        return func.concat(func.date_format(column, "%Y-%m-%dT%H:%i:%s"), shown, "+00:00")

    def by_code_point(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """Text compared as Python compares it: SQLite's BINARY already does; MariaDB's utf8mb4_bin."""
        if self.sqlite or not isinstance(column.type, String):
            return column
        return column.collate("utf8mb4_bin")

    def boolean(self, condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return self.as_json(case((condition, "true"), else_="false"))

    def global_id(self, type_name: str, id_column: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.sqlite:
            return getattr(func, GLOBAL_ID_FUNCTION)(type_name, id_column)  # type: ignore[no-any-return]
        encoded = func.to_base64(func.concat(f"{type_name}:", id_column))
        # base64url: '+' and '/' swapped, the '=' padding dropped (ids are far below TO_BASE64's
        # 76-character line).
        return func.replace(func.replace(func.replace(encoded, "=", ""), "+", "-"), "/", "_")

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
            pairs += [_literal(field.key), self.value(table, field)]
        return func.json_object(*pairs)

    def value(self, table: FromClause, field: Selected) -> ColumnElement[Any]:
        spec = field.spec
        if isinstance(spec, Column):
            return self.column(table.c[spec.name], spec)
        if isinstance(spec, GlobalId):
            return self.global_id(spec.type_name, table.c.id)
        if isinstance(spec, Typename):
            return _literal(spec.name)
        return self.related(table, field)

    def related(self, table: FromClause, field: Selected) -> ColumnElement[Any]:
        """A value read from other rows, by a correlated subquery."""
        spec = field.spec
        if isinstance(spec, ToOne):
            other = self.table(spec.table).alias()
            found = select(self.object(other, field.children)).where(
                other.c.id == table.c[spec.foreign_key],
                other.c.organization_id == table.c.organization_id,
            )
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
        raise ValueError(f"{type(spec).__name__} is not a field of a row")

    def column(self, column: ColumnElement[Any], spec: Column) -> ColumnElement[Any]:
        kind = spec.kind
        if kind == "enum":
            return func.upper(column)
        if kind == "datetime":
            return self.datetime(column)
        if kind == "present":
            return self.boolean(column.is_not(None))
        return column


def _visible(table: Table, sees_all_projects: bool) -> list[ColumnElement[bool]]:
    if table.name != "tasks":
        raise ValueError(f"no tenancy predicate for {table.name}")
    return visible_tasks(
        bindparam(ORGANIZATION, type_=Integer),
        sees_all_projects,
        bindparam(USER, type_=Integer),
    )


def root_statement(dialect: str, root: RootSelection, sees_all_projects: bool) -> Select[Any]:
    builder = _Builder(dialect)
    spec = root.spec
    table = builder.table(spec.table)
    visible = _visible(table, sees_all_projects)
    if isinstance(spec, ById):
        found = builder.object(table, root.children)
        return (
            select(found)
            .select_from(table)
            .where(table.c.id == bindparam(OBJECT_ID, type_=Integer), *visible)
        )
    if isinstance(spec, ByKey):
        relation = table.c[spec.relation]
        keyed = next(iter(relation.foreign_keys)).column.table
        named = select(keyed.c.id).where(
            keyed.c[spec.key_column] == bindparam(KEY, type_=String),
            keyed.c.organization_id == bindparam(ORGANIZATION, type_=Integer),
        )
        return (
            select(builder.object(table, root.children))
            .select_from(table)
            .where(
                relation == named.scalar_subquery(),
                table.c[spec.number_column] == bindparam(NUMBER, type_=Integer),
                *visible,
            )
        )
    order = [table.c[spec.order_column].desc(), table.c.id.desc()]
    page = (
        select(table.c.id)
        .where(*visible)
        .order_by(*order)
        .limit(bindparam(FIRST, type_=Integer))
        .subquery("page")
    )
    pairs: list[ColumnElement[Any]] = []
    for field in root.children:
        pairs.append(_literal(field.key))
        if isinstance(field.spec, Nodes):
            rows = select().select_from(table.join(page, page.c.id == table.c.id)).order_by(*order)
            pairs.append(builder.array(builder.object(table, field.children), rows))
        elif isinstance(field.spec, TotalCount):
            pairs.append(select(func.count()).select_from(table).where(*visible).scalar_subquery())
        elif isinstance(field.spec, Typename):
            pairs.append(_literal(field.spec.name))
        else:
            raise ValueError(f"{type(field.spec).__name__} is not a field of a connection")
    return select(func.json_object(*pairs))


def compile_root(dialect: Dialect, root: RootSelection, sees_all_projects: bool) -> CompiledStatement:
    statement = root_statement(dialect.name, root, sees_all_projects)
    # Expanding parameters (IN lists) rendered in place: the driver gets the text as it is.
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    # The same dialect with named parameters: the text people read (logs, docs, reports).
    named: Any = type(dialect)
    readable = statement.compile(dialect=named(paramstyle="named"))
    names = tuple(compiled.positiontup or ())
    request = {ORGANIZATION, USER, OBJECT_ID, FIRST, KEY, NUMBER}
    constants = {name: value for name, value in compiled.params.items() if name not in request}
    return CompiledStatement(compiled.string, names, constants, readable.string)
