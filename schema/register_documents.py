"""`python -m schema documents FILE --client NAME`: registers a manifest file's trusted documents in
TASKQL_DATABASE_URL's database, as trustedDocumentsRegister does (all or none)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

from persistence.db import Database, create_engine
from persistence.settings import get_settings
from resolvers.errors import BadUserInput
from resolvers.trusted_documents import RegisterResult, parse_manifest, register_documents
from schema.build import build_schema
from schema.engine.compiler.coverage import judge_engine
from schema.guard.registration import preparer


async def register(manifest: Any, client_name: str) -> RegisterResult:
    settings = get_settings()
    prepare = preparer(build_schema()._schema, settings, judge_engine)
    db = Database(create_engine(settings, null_pool=True))
    try:
        return await register_documents(
            db, parse_manifest(manifest), client_name=client_name, prepare=prepare
        )
    finally:
        await db.dispose()


def main(path: Path, client_name: str) -> int:
    """Prints the counts; a bad file or manifest is a message on stderr and exit status 1."""
    try:
        manifest = orjson.loads(path.read_bytes())
    except OSError as error:
        print(f"cannot read {path}: {error.strerror}", file=sys.stderr)
        return 1
    except orjson.JSONDecodeError as error:
        print(f"{path} is not JSON: {error}", file=sys.stderr)
        return 1
    try:
        result = asyncio.run(register(manifest, client_name))
    except BadUserInput as error:
        print(f"{path}: {error.message}; nothing was registered", file=sys.stderr)
        return 1
    print(f"registered {result.registered}, unchanged {result.unchanged}")
    for document in result.documents:
        engine = result.engines.get(document.document_id)
        if engine is not None:
            why = f" ({engine.uncovered} is not compiled)" if engine.uncovered else ""
            print(f"  {document.document_id}: {engine.engine}{why}")
    return 0
