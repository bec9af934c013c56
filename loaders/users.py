from __future__ import annotations

from collections.abc import Sequence

from loaders.base import ScopedLoader
from persistence.queries import users as queries
from persistence.queries.rows import AnyRow


class UserByIdLoader(ScopedLoader):
    async def batch_load_fn(self, ids: Sequence[int]) -> list[AnyRow | None]:
        async with self.db.read() as conn:
            rows = await queries.users_by_ids(conn, self.scope, ids)
        by_id = {row.id: row for row in rows}
        return [by_id.get(i) for i in ids]
