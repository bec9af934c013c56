"""Opaque cursors: base64url JSON of [order, sort value, id]. A cursor from another order is refused."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from persistence.values import Cursor
from resolvers.errors import BadUserInput


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def encode_cursor(order: str, value: Any, row_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([order, _json_value(value), row_id])).decode().rstrip("=")


ValueParser = Callable[[Any], Any]


def _parse_datetime(raw: Any) -> datetime:
    parsed = datetime.fromisoformat(raw)
    if parsed.tzinfo is None:
        raise ValueError("naive")
    return parsed


def _parse_int(raw: Any) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise TypeError("not an integer")
    return raw


def _parse_float(raw: Any) -> float:
    if not isinstance(raw, int | float) or isinstance(raw, bool):
        raise TypeError("not a number")
    return float(raw)


def _parse_str(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError("not a string")
    return raw


PARSERS: dict[str, ValueParser] = {
    "datetime": _parse_datetime,
    "date": date.fromisoformat,
    "int": _parse_int,
    "float": _parse_float,
    "str": _parse_str,
}


def decode_cursor(raw: str | None, order: str, value_kind: str, *, argument: str) -> Cursor | None:
    if raw is None:
        return None
    try:
        if len(raw) > 512:
            raise ValueError("too long")
        decoded = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        kind, value, row_id = decoded
        if kind != order or not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError("another order's cursor")
        parsed = None if value is None else PARSERS[value_kind](value)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise BadUserInput(f"`{argument}` is not a cursor of this list", argument=argument) from exc
    return Cursor(value=parsed, id=row_id)


@dataclass(frozen=True, slots=True)
class CursorOrder:
    """A list's order as its cursors carry it: the order's name, the kind of its sort value (a key of
    PARSERS) and how a row gives that value."""

    name: str
    value_kind: str
    value_of: Callable[[Any], Any]

    def cursor_of(self, row: Any) -> str:
        return encode_cursor(self.name, self.value_of(row), row.id)

    def decode(self, raw: str | None, *, argument: str) -> Cursor | None:
        return decode_cursor(raw, self.name, self.value_kind, argument=argument)
