"""`python -m schema operator grant|revoke EMAIL`: makes a user a platform operator (`/ops`, trusted
document registration) or takes it back, recorded in their organization's activity log."""

from __future__ import annotations

import asyncio
import sys

from persistence.settings import get_settings
from resolvers.operators import OperatorChange, set_operator
from schema.app import build_services


async def _change(email: str, operator: bool) -> OperatorChange | None:
    services = build_services(get_settings())
    try:
        return await set_operator(services, email, operator=operator)
    finally:
        services.passwords.close()
        await services.cache.redis.aclose()
        await services.db.dispose()


def main(action: str, email: str) -> int:
    """Exit status 1 for an unknown email; granting to an operator (or revoking from a user who is
    none) changes nothing and says so, with status 0."""
    operator = action == "grant"
    change = asyncio.run(_change(email, operator))
    if change is None:
        print(f"taskql: no user has the email {email}", file=sys.stderr)
        return 1
    if not change.changed:
        state = "already" if operator else "not"
        print(f"{email} is {state} an operator; nothing changed")
        return 0
    print(f"{email} is {'now' if operator else 'no longer'} an operator")
    return 0
