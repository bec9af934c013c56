"""An operation's deadline: 504 TIMEOUT when it passes in the server's own work, SERVICE_UNAVAILABLE
(an outage: 503) when it passes while the operation waits on the database."""

from __future__ import annotations

import asyncio

import pytest
from graphql import ExecutionResult

from persistence.outages import DatabaseTimedOut, database_unreachable, nothing_was_sent
from persistence.statements import count_statements, waiting_on_database
from schema.core.request import RequestError
from schema.engine.execute import within_deadline

DEADLINE = 0.05


async def _slow(waiting_on_database_too: bool) -> ExecutionResult:
    if waiting_on_database_too:
        with waiting_on_database():
            await asyncio.sleep(1)
    await asyncio.sleep(1)
    return ExecutionResult({"done": True})


async def test_past_the_deadline_in_the_servers_own_work_is_504() -> None:
    with count_statements(), pytest.raises(RequestError) as raised:
        await within_deadline(_slow(waiting_on_database_too=False), DEADLINE)
    assert (raised.value.status, raised.value.code) == (504, "TIMEOUT")


async def test_past_the_deadline_while_waiting_on_the_database_is_an_outage() -> None:
    with count_statements():
        result = await within_deadline(_slow(waiting_on_database_too=True), DEADLINE)
    assert result.data is None
    [error] = result.errors or []
    assert isinstance(error.original_error, DatabaseTimedOut)
    # An outage the view answers 503; whether a write applied is unknown.
    assert database_unreachable(error.original_error)
    assert not nothing_was_sent(error.original_error)


async def test_a_wait_that_ended_leaves_no_mark() -> None:
    with count_statements():
        with waiting_on_database():
            await asyncio.sleep(0)
        with pytest.raises(RequestError):
            await within_deadline(_slow(waiting_on_database_too=False), DEADLINE)
