"""Statements prepared once per shape (persistence/prepared.py): built and compiled once, then sent
with each request's values through their columns' bind processors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Integer, String, bindparam, cast, literal, select

from persistence.enums import ProjectRole
from persistence.models import ProjectMember
from persistence.models.base import UtcDateTime
from persistence.prepared import PreparedStatements, prepare
from resolvers.context import Services

_members = ProjectMember.__table__


async def test_a_shape_is_built_once_and_each_run_sends_its_own_values(services: Services) -> None:
    built: list[tuple[str, bool]] = []

    def build(dialect: str, doubled: bool) -> Any:
        built.append((dialect, doubled))
        number = bindparam("number", type_=Integer)
        return select(number * 2 if doubled else number)

    statements = PreparedStatements(build, frozenset(["number"]))
    async with services.db.read() as conn:
        answers = [
            (await statements.execute(conn, (doubled,), {"number": number})).scalar_one()
            for doubled, number in ((True, 3), (True, 5), (False, 7), (True, 11))
        ]
    assert answers == [6, 10, 7, 22]
    assert built == [(services.db.dialect, True), (services.db.dialect, False)]


async def test_values_go_through_their_bind_processors(services: Services) -> None:
    # A UTC datetime is stored naive (UtcDateTime), whatever zone it was given in
    when = datetime(2026, 12, 7, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    statements = PreparedStatements(
        lambda dialect: select(cast(bindparam("when", type_=UtcDateTime()), String(32))),
        frozenset(["when"]),
    )
    async with services.db.read() as conn:
        stored = (await statements.execute(conn, (), {"when": when})).scalar_one()
    assert str(stored).startswith(str(when.astimezone(UTC).replace(tzinfo=None)))


async def test_constants_are_in_the_drivers_form(services: Services) -> None:
    # The role, an enum, is sent as the value its column stores
    statement = select(literal(ProjectRole.EDITOR, _members.c.role.type))
    prepared = prepare(services.db.engine.dialect, statement, frozenset())
    assert list(prepared.constants.values()) == ["editor"]


def test_a_list_that_would_expand_per_execution_is_refused(services: Services) -> None:
    statement = select(_members.c.project_id).where(_members.c.role.in_([ProjectRole.ADMIN]))
    with pytest.raises(ValueError, match="IN lists"):
        prepare(services.db.engine.dialect, statement, frozenset())


def test_a_parameter_without_a_value_must_be_a_request_value(services: Services) -> None:
    statement = select(_members.c.project_id).where(_members.c.user_id == bindparam("viewr", type_=Integer))
    with pytest.raises(ValueError, match="'viewr'"):
        prepare(services.db.engine.dialect, statement, frozenset(["viewer"]))
