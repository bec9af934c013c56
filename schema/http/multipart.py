"""The GraphQL multipart request spec (fields ``operations``, ``map``, then the files), for one mutation.

A multipart form is a "simple" request: a browser sends one cross-site without asking first. So a
multipart request is taken only

- with a header no form can set, `Apollo-Require-Preflight` or `X-Apollo-Operation-Name` (any
  non-empty value), which makes a browser ask first (CORS preflight); else 400 ``CSRF_PREVENTED``;
- when its operation is a mutation whose only root field is ``attachmentUpload``; else 400
  ``MULTIPART_NOT_ALLOWED``, decided before any file byte is read;
- with at most one file.

Parsing is starlette's (python-multipart underneath). Its parser spools every file to an unbounded
temporary file; here a file part goes instead straight into a staging file under the upload root,
hashed as it is written, and reading stops the moment the file passes TASKQL_UPLOAD_MAX_BYTES or its
declared type is not allowed: the mutation then answers TOO_LARGE or UNSUPPORTED_MEDIA_TYPE on
``file`` without the rest of the body being read. Text fields keep the JSON body's limit (413).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

import orjson
from graphql import FieldNode, OperationType, get_operation_ast
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from persistence.settings import Settings
from persistence.storage import FileStore, FileTooLarge
from resolvers.attachment_mutations import ReceivedFile, accepts_media_type, clean_filename, media_type
from resolvers.mutations import ErrorCode
from schema.core.request import GraphQLParams, RequestError
from schema.guard.documents import DocumentCache
from schema.http.transport import params_from_json

MULTIPART = "multipart/form-data"
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
UPLOAD_FIELD = "attachmentUpload"
MAX_FILES = 1
# operations and map; any other text field is refused.
_MAX_FIELDS = 2
_MAX_PATHS = 8


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == MULTIPART


def require_preflight(request: Request) -> None:
    if not any(request.headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
        raise RequestError(
            400,
            "CSRF_PREVENTED",
            "a multipart request needs a non-empty `Apollo-Require-Preflight` (or "
            "`X-Apollo-Operation-Name`) header, so a browser cannot send it from a cross-site form",
        )


@dataclass
class UploadRequest:
    params: GraphQLParams
    # The same request with each file described (name, type, size, sha256): what an
    # Idempotency-Key's request hash covers.
    identity: GraphQLParams
    files: list[ReceivedFile]

    async def discard(self) -> None:
        """Removes what a file left in staging (nothing once the mutation moved it into place)."""
        await _discard(self.files)


async def _discard(files: list[ReceivedFile]) -> None:
    for file in files:
        await asyncio.to_thread(file.discard)


@dataclass
class _Plan:
    """``operations`` and ``map``, checked before any file is read."""

    params: GraphQLParams
    # File part name -> paths inside ``variables`` (without the "variables." prefix).
    targets: dict[str, list[list[str]]] = field(default_factory=dict)


def _check_operation(params: GraphQLParams, documents: DocumentCache) -> None:
    if params.query is None:
        # Its text is the trusted document's own: the registry knows it by hash when it is one.
        raise RequestError(400, "BAD_USER_INPUT", "a multipart request carries its `query` text")
    prepared = documents.get(params.query)
    if prepared.document is None:
        first = prepared.errors[0]
        raise RequestError(400, first["extensions"]["code"], first["message"])
    operation = get_operation_ast(prepared.document, params.operation_name)
    if operation is None:
        raise RequestError(400, "BAD_USER_INPUT", "name the operation to run with `operationName`")
    selections = operation.selection_set.selections
    if (
        operation.operation is not OperationType.MUTATION
        or len(selections) != 1
        or not isinstance(selections[0], FieldNode)
        or selections[0].name.value != UPLOAD_FIELD
    ):
        raise RequestError(
            400,
            "MULTIPART_NOT_ALLOWED",
            f"a multipart request may only run the `{UPLOAD_FIELD}` mutation, as its only root field; "
            "send everything else as application/json",
        )


def _placeholder(variables: dict[str, Any], path: list[str]) -> tuple[Any, str | int]:
    """The container and key a map path points at; the value there must be the spec's null."""
    container: Any = variables
    for depth, segment in enumerate(path):
        key: str | int = segment
        if isinstance(container, list):
            if not segment.isdigit() or int(segment) >= len(container):
                break
            key = int(segment)
        elif not isinstance(container, dict) or segment not in container:
            break
        if depth == len(path) - 1:
            if container[key] is not None:
                break
            return container, key
        container = container[key]
    raise RequestError(400, "BAD_USER_INPUT", f"`map` names no null variable at variables.{'.'.join(path)}")


def _plan(items: list[tuple[str, str | UploadFile]], documents: DocumentCache) -> _Plan:
    fields = {name: value for name, value in items if isinstance(value, str)}
    if "operations" not in fields or "map" not in fields:
        raise RequestError(
            400, "BAD_USER_INPUT", "a multipart request sends `operations`, then `map`, then its files"
        )
    params = params_from_json(fields["operations"], "`operations`")
    _check_operation(params, documents)
    try:
        mapping = orjson.loads(fields["map"])
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, "BAD_USER_INPUT", f"`map` is not valid JSON: {exc.msg}") from exc
    if not isinstance(mapping, dict):
        raise RequestError(400, "BAD_USER_INPUT", "`map` must be an object of file part names to paths")
    if len(mapping) > MAX_FILES:
        raise RequestError(400, "BAD_USER_INPUT", f"at most {MAX_FILES} file per request")
    plan = _Plan(params)
    for name, paths in mapping.items():
        if (
            not isinstance(paths, list)
            or not 0 < len(paths) <= _MAX_PATHS
            or not all(isinstance(p, str) and p.startswith("variables.") for p in paths)
        ):
            raise RequestError(
                400, "BAD_USER_INPUT", 'each `map` entry is a list of paths like "variables.input.file"'
            )
        plan.targets[name] = [p.split(".")[1:] for p in paths]
        for path in plan.targets[name]:
            _placeholder(params.variables or {}, path)
    return plan


class _Refused(Exception):
    """The file's declared type is not allowed: stop reading."""


class _UploadParser(MultiPartParser):
    """starlette's parser, with file parts written to staging files that enforce the size limit."""

    def __init__(
        self,
        headers: Headers,
        stream: AsyncGenerator[bytes, None],
        *,
        settings: Settings,
        documents: DocumentCache,
    ) -> None:
        super().__init__(
            headers,
            stream,
            max_files=MAX_FILES,
            max_fields=_MAX_FIELDS,
            max_part_size=settings.max_body_bytes,
        )
        self.settings = settings
        self.documents = documents
        self.store = FileStore(settings.upload_root)
        self.plan: _Plan | None = None
        self.received: dict[str, ReceivedFile] = {}
        self.receiving: ReceivedFile | None = None
        self.completed: set[str] = set()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._current_part
        if part.file is None and len(part.data) + end - start > self.max_part_size:
            # A text field (operations, map) keeps the JSON body's limit and status.
            raise RequestError(
                413, "BAD_USER_INPUT", f"a multipart text field is larger than {self.max_part_size} bytes"
            )
        super().on_part_data(data, start, end)

    def on_part_end(self) -> None:
        if self._current_part.file is not None:
            self.completed.add(self._current_part.field_name)
        super().on_part_end()

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        part = self._current_part
        if part.file is None:
            return
        # The first file: operations and map are in, and decide whether any byte of it is read.
        if self.plan is None:
            self.plan = _plan(self.items, self.documents)
        name = part.field_name
        if name not in self.plan.targets:
            raise RequestError(400, "BAD_USER_INPUT", f"the file part {name!r} is not named in `map`")
        part.file.file.close()  # starlette's spooled temporary file: never written to
        received = ReceivedFile(
            filename=clean_filename(part.file.filename),
            content_type=media_type(part.file.content_type),
            storage_key=self.store.new_key(),
        )
        self.received[name] = received
        if not accepts_media_type(self.settings, received.content_type):
            received.rejected = ErrorCode.UNSUPPORTED_MEDIA_TYPE
            raise _Refused
        received.staged = self.store.stage(self.settings.upload_max_bytes)
        self.receiving = received
        # UploadFile.write sends each chunk to StagingFile.write in a worker thread.
        staged = cast(BinaryIO, received.staged)
        part.file = UploadFile(staged, size=0, filename=received.filename, headers=part.file.headers)


async def _bounded(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The body, but never more than ``limit`` bytes of it (413 past that)."""
    seen = 0
    async with aclosing(request.stream()) as chunks:
        async for chunk in chunks:
            seen += len(chunk)
            if seen > limit:
                raise RequestError(413, "BAD_USER_INPUT", f"request body is larger than {limit} bytes")
            yield chunk


async def read_upload_request(
    request: Request, documents: DocumentCache, settings: Settings
) -> UploadRequest:
    """Reads the multipart body; the caller must ``discard()`` the result once the request is done."""
    limit = settings.upload_max_bytes * MAX_FILES + settings.max_body_bytes * _MAX_FIELDS
    async with aclosing(_bounded(request, limit)) as stream:
        parser = _UploadParser(request.headers, stream, settings=settings, documents=documents)
        try:
            await _parse(parser)
        except BaseException:
            await _discard(list(parser.received.values()))
            raise
    files = list(parser.received.values())
    try:
        return await _assemble(parser, documents)
    except BaseException:
        await _discard(files)
        raise


async def _parse(parser: _UploadParser) -> None:
    try:
        await parser.parse()
    except _Refused:
        return  # the mutation reports the type; the rest of the body is not read
    except FileTooLarge:
        if parser.receiving is not None:
            parser.receiving.staged = None  # the staging file removed itself
            parser.receiving.rejected = ErrorCode.TOO_LARGE
        return
    except MultiPartException as exc:
        raise RequestError(400, "BAD_USER_INPUT", f"malformed multipart request: {exc.message}") from exc
    for name, received in parser.received.items():
        if received.staged is not None:
            if name not in parser.completed:
                raise RequestError(400, "BAD_USER_INPUT", "the multipart body ended inside a file")
            await asyncio.to_thread(received.staged.finish)


async def _assemble(parser: _UploadParser, documents: DocumentCache) -> UploadRequest:
    plan = parser.plan or _plan(parser.items, documents)
    variables = plan.params.variables or {}
    with_files, described = copy.deepcopy(variables), copy.deepcopy(variables)
    for name, paths in plan.targets.items():
        received = parser.received.get(name)
        if received is None:
            raise RequestError(
                400, "BAD_USER_INPUT", f"`map` names the file part {name!r}, which was not sent"
            )
        for path in paths:
            container, key = _placeholder(with_files, path)
            container[key] = received
            container, key = _placeholder(described, path)
            container[key] = received.description()
    query, operation_name = plan.params.query, plan.params.operation_name
    return UploadRequest(
        GraphQLParams(query, with_files, operation_name),
        GraphQLParams(query, described, operation_name),
        list(parser.received.values()),
    )
