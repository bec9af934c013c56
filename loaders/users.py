from __future__ import annotations

from collections.abc import Sequence

from loaders.base import ScopedLoader
from loaders.cached import rows_by_ids
from persistence.queries import users as queries
from persistence.queries.rows import AnyRow


class UserByIdLoader(ScopedLoader):
    """Users of the organization by id, through the user-profile cache."""

    async def batch_load_fn(self, ids: Sequence[int]) -> list[AnyRow | None]:
        by_id = await rows_by_ids(
            self.versioned, "user_profile", ("users",), ids, self._read, queries.user_row_from_json
        )
        return [by_id.get(i) for i in ids]

    async def _read(self, ids: Sequence[int]) -> Sequence[AnyRow]:
        async with self.db.read() as conn:
            return await queries.users_by_ids(conn, self.scope, ids)
