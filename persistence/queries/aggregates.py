"""Dialect-specific SQL pieces that let one statement carry a small to-many relation as JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func


def json_object(dialect: str, *pairs: Any) -> ColumnElement[Any]:
    return func.json_object(*pairs)


def json_array_agg(dialect: str, element: ColumnElement[Any]) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.json_group_array(element)
    return func.json_arrayagg(element)


def greatest(dialect: str, *values: ColumnElement[Any]) -> ColumnElement[Any]:
    # SQLite's two-argument max() is a scalar function; MariaDB calls it GREATEST.
    if dialect == "sqlite":
        return func.max(*values)
    return func.greatest(*values)
