"""`opsMetrics` over a real WebSocket against a real server on MariaDB and Redis."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import update

from perf.shared.server_process import ServerProcess
from persistence.models import User
from persistence.seed import SeededOrganization
from resolvers.auth import session_cache_key
from resolvers.context import Services
from resolvers.tokens import read_access_token
from tests.schema.ops_helpers import People, signed_in, traffic

MakeOrg = Callable[..., Awaitable[SeededOrganization]]


def _codes(errors: list[dict[str, Any]]) -> list[str]:
    return [error["extensions"]["code"] for error in errors]


async def test_an_operator_receives_ticks_with_the_server_s_traffic(
    ops_server: ServerProcess, people: People
) -> None:
    # Given some traffic on the server
    traffic(ops_server.base_url, people.operator_token)
    async with signed_in(ops_server.base_url, people.operator_token) as client:
        # When an operator subscribes every second
        await client.subscribe("1", 1)
        first = await client.receive()
        second = await client.receive()
    # Then ticks arrive, with the traffic counted per class and the queues against their targets
    assert first["type"] == second["type"] == "next", (first, second)
    figures = first["payload"]["data"]["opsMetrics"]
    classes = {c["operationClass"]: c for c in figures["classes"]}
    assert classes["read"]["count"] >= 1
    assert classes["list"]["count"] >= 1
    assert classes["read"]["targetP95"] == 200
    assert figures["processes"] >= 1
    assert figures["degraded"] is False
    assert [(q["name"], q["target"], q["alert"]) for q in figures["queues"]] == [
        ("high", 10, 50),
        ("default", 100, 500),
        ("low", 500, 2000),
    ]
    assert figures["pool"]["size"] == 30
    assert second["payload"]["data"]["opsMetrics"]["at"] > figures["at"]


async def test_a_member_is_forbidden_and_receives_nothing(ops_server: ServerProcess, people: People) -> None:
    async with signed_in(ops_server.base_url, people.member_token) as client:
        # When a plain member subscribes
        await client.subscribe("1", 1)
        # Then FORBIDDEN, and no figures follow
        refusal = await client.receive()
        assert (refusal["type"], _codes(refusal["payload"])) == ("error", ["FORBIDDEN"]), refusal
        with pytest.raises(TimeoutError):
            await client.receive(within=1.5)


@pytest.mark.parametrize("interval", [0, 61])
async def test_an_interval_outside_1_to_60_is_bad_user_input(
    ops_server: ServerProcess, people: People, interval: int
) -> None:
    async with signed_in(ops_server.base_url, people.operator_token) as client:
        await client.subscribe("1", interval)
        refusal = await client.receive()
    assert (refusal["type"], _codes(refusal["payload"])) == ("error", ["BAD_USER_INPUT"]), refusal


async def test_an_operator_who_loses_the_flag_stops_receiving_at_the_next_tick(
    ops_server: ServerProcess, services: Services, people: People
) -> None:
    async with signed_in(ops_server.base_url, people.operator_token) as client:
        await client.subscribe("1", 1)
        assert (await client.receive())["type"] == "next"
        # When the account is no longer an operator (and its cached session dropped, as a write does)
        async with services.db.unit_of_work() as conn:
            await conn.execute(update(User).where(User.id == people.operator_id).values(is_operator=False))
        claims = read_access_token(services.settings, people.operator_token)
        await services.cache.redis.delete(session_cache_key(claims.session_id))
        # Then the next tick is FORBIDDEN, without figures, and the subscription ends
        tick = await client.receive()
        assert tick["type"] == "next", tick
        assert tick["payload"]["data"] is None
        assert _codes(tick["payload"]["errors"]) == ["FORBIDDEN"]
        assert (await client.receive())["type"] == "complete"
