"""The base every loader shares: a database, the request's scope, one short connection per batch."""

from __future__ import annotations

from typing import Any

from aiodataloader import DataLoader

from persistence.db import Database
from persistence.queries.scope import Scope
from persistence.versioned_cache import VersionedCache


class ScopedLoader(DataLoader):  # type: ignore[type-arg]  # each subclass fixes its own key and value
    def __init__(
        self, db: Database, scope: Scope, versioned: VersionedCache | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.scope = scope
        # The request's versioned caches; None reads the database only. (``cache`` is DataLoader's own.)
        self.versioned = versioned
