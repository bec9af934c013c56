"""The row type queries hand upwards: SQLAlchemy rows of any width, read by attribute; and rows rebuilt
from JSON (a message, a cache entry) with the same Python types the database gave."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Row, TypeDecorator

AnyRow: TypeAlias = Row[*tuple[Any, ...]]


class PlainRow:
    """A row rebuilt from JSON: attribute access and ``_mapping``, like a Row."""

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError as error:
            raise AttributeError(name) from error


def python_types(columns: Iterable[ColumnElement[Any]]) -> dict[str, type]:
    """Each labelled column's Python type, for decoding its JSON form again."""
    types: dict[str, type] = {}
    for column in columns:
        if column.key is None:
            continue
        # A TypeDecorator (UtcDateTime) answers ``object``: its implementation's type is the one.
        column_type = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
        try:
            types[column.key] = column_type.python_type
        except NotImplementedError:
            continue  # an aggregate's text (labels_json): kept as it came
    return types


def decoded(value: Any, kind: type | None) -> Any:
    if value is None or kind is None or isinstance(value, kind):
        return value
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    return kind(value)  # enums from their value, numbers from JSON's


def row_from_json(fields: Mapping[str, Any], types: Mapping[str, type]) -> PlainRow:
    """The inverse of JSON-encoding a row's mapping (orjson writes datetimes in ISO form and enums as
    their values); a column not in ``types`` (an extra such as ``total_count``) is kept as it came."""
    return PlainRow({name: decoded(value, types.get(name)) for name, value in fields.items()})


def row_to_json(row: Any) -> dict[str, Any]:
    """What ``row_from_json`` reads back (orjson encodes the values). Keys made plain ``str``: a label
    SQLAlchemy quoted is a ``str`` subclass, which orjson refuses as a key."""
    return {str(name): value for name, value in row._mapping.items()}
