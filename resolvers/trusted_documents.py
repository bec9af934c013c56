"""Trusted documents: registering a client's manifest, and each process's registry of what is registered.

A manifest is Apollo's persisted-query manifest or Relay's flat ``{id: text}`` map. Registration is all
or nothing: every body must validate against the schema (the schema layer's ``prepare`` checks it and
computes its cost), and an id already registered must come with the very same body: ids are immutable.
Because documents never change, a process's in-memory copy never goes stale: it only has to learn of
new ones (``TrustedDocuments.refresh``, by id).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from persistence.db import Database
from persistence.models.base import utcnow
from persistence.outages import database_unreachable
from persistence.queries import trusted_documents as queries
from persistence.queries.rows import AnyRow
from resolvers.context import RequestContext
from resolvers.engines import EngineChoice
from resolvers.errors import BadUserInput, Forbidden

log = logging.getLogger("taskql.trusted_documents")
APOLLO_FORMAT = "apollo-persisted-query-manifest"
MAX_DOCUMENT_ID = 200
MAX_CLIENT_NAME = 100
MAX_NAME = 200


@dataclass(frozen=True)
class ManifestOperation:
    document_id: str
    body: str
    name: str | None = None


@dataclass(frozen=True)
class PreparedOperation:
    """What the schema layer learns from a body: its one operation's type and name, its cost, and
    the engine that will run it (None where no compiler judged it)."""

    operation_type: str
    name: str | None
    cost: int
    engine: EngineChoice | None = None


Prepare = Callable[[str], PreparedOperation]


@dataclass(frozen=True)
class TrustedDocument:
    id: int
    document_id: str
    sha256: str
    name: str | None
    client_name: str
    operation_type: str
    body: str
    cost: int

    @classmethod
    def from_row(cls, row: AnyRow) -> TrustedDocument:
        return cls(
            id=int(row.id),
            document_id=row.document_id,
            sha256=row.sha256,
            name=row.name,
            client_name=row.client_name,
            operation_type=row.operation_type,
            body=row.body,
            cost=int(row.cost),
        )


@dataclass(frozen=True)
class RegisterResult:
    registered: int
    unchanged: int
    # Every document of the manifest, as stored, in the manifest's order.
    documents: list[TrustedDocument]
    # By document id: the engine that runs it, as judged when registered.
    engines: dict[str, EngineChoice | None]


def sha256_of(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _bad(message: str) -> BadUserInput:
    return BadUserInput(message, argument="input.manifest")


def _apollo_operations(data: dict[str, Any]) -> list[ManifestOperation]:
    if data.get("version") != 1 or not isinstance(data.get("operations"), list):
        raise _bad("an Apollo manifest has version 1 and a list of operations")
    operations = []
    for index, item in enumerate(data["operations"]):
        if not isinstance(item, dict):
            raise _bad(f"operations[{index}] is not an object")
        document_id, body, name = item.get("id"), item.get("body"), item.get("name")
        if not isinstance(document_id, str) or not isinstance(body, str):
            raise _bad(f"operations[{index}] needs a string `id` and a string `body`")
        if name is not None and not isinstance(name, str):
            raise _bad(f"operations[{index}].name is not a string")
        operations.append(ManifestOperation(document_id, body, name))
    return operations


def parse_manifest(data: Any) -> list[ManifestOperation]:
    """The operations of an Apollo persisted-query manifest or of a Relay ``{id: text}`` map."""
    if isinstance(data, dict) and "format" in data:
        if data["format"] != APOLLO_FORMAT:
            raise _bad(f"unknown manifest format {data['format']!r}; expected {APOLLO_FORMAT!r}")
        return _apollo_operations(data)
    if isinstance(data, dict) and data and all(isinstance(v, str) for v in data.values()):
        return [ManifestOperation(str(key), body) for key, body in data.items()]
    raise _bad(
        f'expected an Apollo manifest ({{"format": "{APOLLO_FORMAT}", "version": 1, "operations": [...]}}) '
        'or a Relay map ({"<id>": "<query text>"}) with at least one document'
    )


def _checked(operations: Sequence[ManifestOperation], client_name: str) -> str:
    client_name = client_name.strip()
    if not 0 < len(client_name) <= MAX_CLIENT_NAME:
        raise BadUserInput(
            f"a client name has 1 to {MAX_CLIENT_NAME} characters", argument="input.clientName"
        )
    if not operations:
        raise _bad("the manifest has no documents")
    bodies: dict[str, str] = {}
    for operation in operations:
        if not 0 < len(operation.document_id) <= MAX_DOCUMENT_ID:
            raise _bad(f"a document id has 1 to {MAX_DOCUMENT_ID} characters: {operation.document_id[:40]!r}")
        if bodies.setdefault(operation.document_id, operation.body) != operation.body:
            raise _bad(f"document {operation.document_id!r} appears twice with different bodies")
    return client_name


def _prepared(operation: ManifestOperation, prepare: Prepare) -> PreparedOperation:
    try:
        return prepare(operation.body)
    except BadUserInput as refused:
        raise _bad(f"document {operation.document_id!r} {refused.message}") from refused


def _new_values(
    operation: ManifestOperation, prepared: PreparedOperation, client_name: str
) -> dict[str, Any]:
    name = prepared.name or operation.name
    return {
        "document_id": operation.document_id,
        "sha256": sha256_of(operation.body),
        "name": None if name is None else name[:MAX_NAME],
        "client_name": client_name,
        "operation_type": prepared.operation_type,
        "body": operation.body,
        "cost": prepared.cost,
        "created_at": utcnow(),
    }


async def register_documents(
    db: Database, operations: Sequence[ManifestOperation], *, client_name: str, prepare: Prepare
) -> RegisterResult:
    """Stores every new document of the manifest, or none: any body that does not validate, or an id
    registered with another body, refuses the whole manifest (BAD_USER_INPUT)."""
    client_name = _checked(operations, client_name)
    unique = list({operation.document_id: operation for operation in operations}.values())
    # Parsing and validating is CPU only: done before the transaction opens.
    prepared = {operation.document_id: _prepared(operation, prepare) for operation in unique}
    async with db.unit_of_work() as conn:
        existing = {row.document_id: row for row in await queries.by_document_ids(conn, list(prepared))}
        new = []
        for operation in unique:
            row = existing.get(operation.document_id)
            if row is None:
                new.append(_new_values(operation, prepared[operation.document_id], client_name))
            elif row.sha256 != sha256_of(operation.body):
                raise _bad(
                    f"document {operation.document_id!r} is registered with another body; ids are immutable"
                )
        await queries.insert_documents(conn, new)
        rows = {row.document_id: row for row in await queries.by_document_ids(conn, list(prepared))}
    documents = [TrustedDocument.from_row(rows[operation.document_id]) for operation in unique]
    engines = {document_id: found.engine for document_id, found in prepared.items()}
    return RegisterResult(len(new), len(unique) - len(new), documents, engines)


async def register_manifest(
    ctx: RequestContext, manifest: Any, *, client_name: str, prepare: Prepare
) -> RegisterResult:
    """trustedDocumentsRegister: platform operators only, FORBIDDEN for everyone else before anything
    is read or stored."""
    principal = ctx.require_principal()
    if not principal.is_operator:
        raise Forbidden("only platform operators register trusted documents")
    return await register_documents(
        ctx.db, parse_manifest(manifest), client_name=client_name, prepare=prepare
    )


class TrustedDocuments:
    """One per process: every registered document in memory, by id and by hash.

    ``refresh`` (at start-up, then every few seconds from ``run``) loads what was registered since it
    last looked; ``fetch`` reads a document this process has not heard of yet (a client that raced the
    refresh), and remembers it. A document never changes, so what is known stays right.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._by_id: dict[str, TrustedDocument] = {}
        self._by_hash: dict[str, TrustedDocument] = {}
        self._last_id = 0

    def __len__(self) -> int:
        return len(self._by_id)

    def _remember(self, document: TrustedDocument) -> None:
        self._by_id[document.document_id] = document
        # Of several ids with one body, the first registered answers for the hash (they are the same text).
        self._by_hash.setdefault(document.sha256, document)

    def get(self, *, document_id: str | None = None, sha256: str | None = None) -> TrustedDocument | None:
        """From memory only: by id when given, else by hash."""
        if document_id is not None:
            return self._by_id.get(document_id)
        if sha256 is not None:
            return self._by_hash.get(sha256.lower())
        return None

    async def fetch(
        self, *, document_id: str | None = None, sha256: str | None = None
    ) -> TrustedDocument | None:
        """From memory, else one SELECT; None when no such document is registered."""
        known = self.get(document_id=document_id, sha256=sha256)
        if known is not None or (document_id is None and sha256 is None):
            return known
        async with self.db.read() as conn:
            row = await queries.find(
                conn, document_id=document_id, sha256=None if sha256 is None else sha256.lower()
            )
        if row is None:
            return None
        document = TrustedDocument.from_row(row)
        self._remember(document)
        return document

    async def refresh(self) -> int:
        """Loads the documents registered since the last refresh; returns how many."""
        async with self.db.read() as conn:
            rows = await queries.since(conn, self._last_id)
        for row in rows:
            self._remember(TrustedDocument.from_row(row))
            self._last_id = max(self._last_id, int(row.id))
        return len(rows)

    async def run(self, interval_seconds: float) -> None:
        """Refreshes every ``interval_seconds`` until cancelled; a failed refresh is logged and retried
        at the next tick (what is known keeps serving)."""
        while True:
            try:
                await self.refresh()
            except Exception as error:
                if not database_unreachable(error):
                    log.exception("refreshing the trusted documents failed")
                else:  # an outage, told by /readyz and its own metric: no traceback for it
                    log.warning("refreshing the trusted documents failed: the database is unreachable")
            await asyncio.sleep(interval_seconds)
