"""The row type queries hand upwards: SQLAlchemy rows of any width, read by attribute."""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import Row

AnyRow: TypeAlias = Row[*tuple[Any, ...]]
