"""Waiting on a real worker: polls, bounded, for what a job test expects to happen."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from redis import Redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer


async def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def until_true(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """``until`` for a check that reads asynchronously (the database, GraphQL)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def finished(rq_redis: Redis, job_id: str) -> bool:
    status = Job.fetch(job_id, connection=rq_redis, serializer=JSONSerializer).get_status()
    return bool(status == JobStatus.FINISHED)
