"""An organization of the small size and both engines signed in as its owner (MariaDB)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from persistence.seed import SeededOrganization
from resolvers.context import Services
from tests.conftest import PASSWORD, SMALL
from tests.engine.differential import Engines

MakeOrg = Callable[..., Awaitable[SeededOrganization]]


@pytest.fixture
async def org(make_org: MakeOrg) -> SeededOrganization:
    return await make_org(SMALL)


@pytest.fixture
async def engines(services: Services, org: SeededOrganization) -> AsyncIterator[Engines]:
    both = Engines.over(services)
    yield await both.as_user(services, org.user_ids[0], PASSWORD)
    await both.close()
