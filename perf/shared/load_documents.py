"""The load's operations registered as trusted documents, by the function `make documents` uses."""

from __future__ import annotations

from perf.shared.load_mix import CLIENT_NAME, OPERATIONS
from persistence.db import Database
from persistence.settings import Settings
from resolvers.trusted_documents import ManifestOperation, RegisterResult, register_documents
from schema.build import build_schema
from schema.engine.compiler.coverage import judge_engine
from schema.guard.registration import preparer


def manifest() -> list[ManifestOperation]:
    return [ManifestOperation(op.document_id, op.body, op.name) for op in OPERATIONS.values()]


async def register(db: Database, settings: Settings) -> RegisterResult:
    """Registers every operation (all or none, as `python -m schema documents`); idempotent."""
    # The graphql-core schema strawberry built, as `python -m schema documents` uses it.
    prepare = preparer(build_schema()._schema, settings, judge_engine)
    return await register_documents(db, manifest(), client_name=CLIENT_NAME, prepare=prepare)
