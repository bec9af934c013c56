"""Versioned cache keys: one request's view of its organization's caches.

Each organization has a version key per namespace (users, members, projects, tasks), and every entry's
key carries the versions of the namespaces it was read from, plus the process-wide epoch. A write moves
the versions of what it touched after its commit (``invalidate``), so the next read builds other keys and
misses. A reader that read the database before that commit and fills after it fills a key of the old
versions, which nobody reads again: unlike a delete, no stale copy can outlive the write.

A request reads all its organization's versions in one round trip, once, on first use. With Redis away
it gets none and neither reads nor fills entries (the database answers).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import orjson

from persistence.cache import EPOCH_KEY, Cache

Namespace = Literal["users", "members", "projects", "tasks"]
NAMESPACES: tuple[Namespace, ...] = ("users", "members", "projects", "tasks")


def version_key(organization_id: int, namespace: Namespace) -> str:
    return f"cache:ver:{organization_id}:{namespace}"


def fingerprint(*parts: Any) -> str:
    """A short stable digest of a read's arguments (dataclasses, dates, sets), equal in every process."""
    encoded = orjson.dumps(parts, default=_sorted_set, option=orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(encoded).hexdigest()[:32]


def _sorted_set(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(type(value).__name__)


class VersionedCache:
    """Built per request for the principal's organization; entries never cross organizations because
    the organization is part of every key (and the version keys are the organization's own)."""

    def __init__(self, cache: Cache, organization_id: int, ttls: Mapping[str, int]) -> None:
        self.cache = cache
        self.organization_id = organization_id
        # Seconds an entry lives, by data type (``user_profile``, ``project``, ...); a data type left out
        # is not cached (a setting switched it off).
        self.ttls = ttls
        self._versions: asyncio.Task[dict[str, str] | None] | None = None

    async def _read_versions(self) -> dict[str, str] | None:
        keys = [EPOCH_KEY, *(version_key(self.organization_id, ns) for ns in NAMESPACES)]
        values = await self.cache.versions(keys, self.cache.version_ttl_seconds)
        if values is None:
            return None
        return dict(zip(["epoch", *NAMESPACES], values, strict=True))

    async def keys(
        self, data_type: str, namespaces: Sequence[Namespace], names: Sequence[str]
    ) -> list[str] | None:
        """The keys of ``names`` under the current versions of ``namespaces``; None without Redis or
        when ``data_type`` is not cached (neither read nor filled: the database answers)."""
        if data_type not in self.ttls:
            return None
        if self._versions is None:
            # Concurrent loaders of one request share the one read.
            self._versions = asyncio.ensure_future(self._read_versions())
        versions = await self._versions
        if versions is None:
            return None
        stamp = ".".join([versions["epoch"], *(versions[ns] for ns in namespaces)])
        return [f"cache:{data_type}:{self.organization_id}:{stamp}:{name}" for name in names]

    async def get_many(self, data_type: str, keys: Sequence[str]) -> list[Any | None]:
        return await self.cache.get_many_json(data_type, keys)

    async def fill_many(self, data_type: str, entries: Mapping[str, Any]) -> None:
        await self.cache.fill_many_json(entries, self.ttls[data_type])


async def invalidate(cache: Cache, touched: Iterable[tuple[int, Namespace]]) -> None:
    """After a write's commit: moves the versions of every (organization, namespace) it touched."""
    keys = sorted({version_key(organization_id, ns) for organization_id, ns in touched})
    await cache.bump_versions(keys, cache.version_ttl_seconds)
