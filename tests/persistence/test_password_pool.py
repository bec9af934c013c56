"""Password hashes run in a thread pool of their own (persistence/passwords.py): a login never waits
behind other work sent to the loop's default executor."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from persistence.passwords import Passwords
from persistence.seed import SeededOrganization
from tests.conftest import PASSWORD, GraphQLClient, make_settings

LOGIN = """
mutation Login($e: String!, $p: String!) { authLogin(input: {email: $e, password: $p}) { accessToken } }"""
# What "promptly" means on a 2-core machine shared with other work: a login takes ~30-100 ms here.
PROMPT_SECONDS = 2.0


async def test_a_login_does_not_wait_behind_the_default_thread_pool(
    make_org: Callable[[], Awaitable[SeededOrganization]], gql: GraphQLClient
) -> None:
    org = await make_org()
    # Given the loop's default executor with every thread blocked, and more work queued behind them
    loop = asyncio.get_running_loop()
    gate = threading.Event()
    blocked: list[asyncio.Future[Any]] = [loop.run_in_executor(None, gate.wait) for _ in range(40)]
    try:
        # When a user logs in
        started = time.monotonic()
        login = await asyncio.wait_for(gql.post(LOGIN, {"e": org.owner_email, "p": PASSWORD}), 10)
        # Then the password is verified in its own pool: the login completes, promptly
        assert login.status_code == 200, login.text
        assert login.json()["data"]["authLogin"]["accessToken"]
        assert time.monotonic() - started < PROMPT_SECONDS
    finally:
        gate.set()
        await asyncio.gather(*blocked)


async def test_the_pool_has_one_thread_per_core_unless_set() -> None:
    # Given the default setting, and one that names a size
    by_cores = Passwords(make_settings())
    set_to_three = Passwords(make_settings(password_hash_threads=3))
    try:
        # Then the first has a thread per core, the second the size it was given
        assert by_cores.threads == max(1, os.cpu_count() or 1)
        assert set_to_three.threads == 3
        # And a pool of its own size hashes and verifies
        assert await set_to_three.verify(await set_to_three.hash(PASSWORD), PASSWORD)
    finally:
        by_cores.close()
        set_to_three.close()
