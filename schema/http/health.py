"""`/healthz` (the process answers) and `/readyz` (it can serve: MariaDB reachable, migrations current).

Redis down is reported as degraded, not unready: the API keeps serving from MariaDB without it.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from persistence.migrate import is_current
from resolvers.context import Services

# A database that does not answer within this is unreachable for /readyz: a frozen MariaDB (its
# sockets open, nothing answering) must fail the probe, not hang it past the prober's own timeout.
DATABASE_CHECK_SECONDS = 2.0


class Health:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def healthz(self, _request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(self, _request: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(DATABASE_CHECK_SECONDS):
                async with self.services.db.read() as conn:
                    await conn.execute(text("SELECT 1"))
                current = await is_current(self.services.db.engine)
            checks["database"] = "ok" if current else "migrations pending"
        except Exception:  # TimeoutError included
            checks["database"] = "unreachable"
        try:
            await self.services.cache.redis.ping()
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "degraded"
        ready = checks["database"] == "ok"
        return JSONResponse(
            {"status": "ready" if ready else "unready", **checks}, status_code=200 if ready else 503
        )
