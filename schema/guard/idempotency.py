"""The Idempotency-Key header on mutations.

The first answer is kept in Redis for 24 hours and a replay gets it back verbatim without running
anything. Redis only makes replays cheap and exact: what guarantees that a key never writes twice
is the unique index on the events row the first execution committed (see resolvers/writes.py),
so a replay that misses Redis still writes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import OperationDefinitionNode

from persistence.cache import Cache
from resolvers.context import Idempotency
from resolvers.principal import Principal
from schema.core.request import GraphQLParams, RequestError

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
_CACHE_TYPE = "idempotency"


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    payload: dict[str, Any]


def idempotency_for(
    header: str | None, principal: Principal | None, operation: OperationDefinitionNode, params: GraphQLParams
) -> Idempotency | None:
    if header is None:
        return None
    if principal is None:
        raise RequestError(401, "UNAUTHENTICATED", "an Idempotency-Key needs an authenticated request")
    if not 0 < len(header) <= MAX_KEY_LENGTH or not header.isascii() or not header.isprintable():
        raise RequestError(
            400, "BAD_USER_INPUT", f"an Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    if len(operation.selection_set.selections) != 1:
        raise RequestError(400, "BAD_USER_INPUT", "an Idempotency-Key covers exactly one mutation field")
    digest = hashlib.sha256(header.encode()).hexdigest()
    request = orjson.dumps(
        [params.query, params.variables, params.operation_name], option=orjson.OPT_SORT_KEYS
    )
    return Idempotency(f"user:{principal.user_id}:{digest}", hashlib.sha256(request).hexdigest())


def _cache_key(idempotency: Idempotency) -> str:
    return f"idempotency:{idempotency.key}"


async def stored_answer(cache: Cache, idempotency: Idempotency) -> StoredAnswer | None:
    stored = await cache.get_json(_CACHE_TYPE, _cache_key(idempotency))
    if stored is None:
        return None
    if stored["request"] != idempotency.request_hash:
        raise RequestError(422, "BAD_USER_INPUT", "this Idempotency-Key was used with another request")
    return StoredAnswer(stored["status"], stored["payload"])


async def store_answer(
    cache: Cache, idempotency: Idempotency, answer: StoredAnswer, ttl_seconds: int
) -> None:
    value = {"request": idempotency.request_hash, "status": answer.status, "payload": answer.payload}
    await cache.fill_json(_cache_key(idempotency), value, ttl_seconds)
