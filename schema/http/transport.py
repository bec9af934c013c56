"""Reading a GraphQL request off HTTP: size-bounded body, JSON, the GraphQL-over-HTTP parameters."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from schema.core.request import GraphQLParams, RequestError

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def response_media_type(request: Request) -> str:
    """The spec's preferred media type when the client accepts it, else application/json."""
    accept = request.headers.get("accept", "")
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else JSON


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise RequestError(413, "BAD_USER_INPUT", f"request body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(413, "BAD_USER_INPUT", f"request body is larger than {limit} bytes")
    return bytes(body)


def _params(data: Any) -> GraphQLParams:
    if isinstance(data, list):
        raise RequestError(400, "BAD_USER_INPUT", "batched requests are not supported")
    if not isinstance(data, dict):
        raise RequestError(400, "BAD_USER_INPUT", "the request body must be a JSON object")
    query, variables, operation_name = data.get("query"), data.get("variables"), data.get("operationName")
    document_id, extensions = data.get("documentId"), data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "BAD_USER_INPUT", "`extensions` must be an object")
    if document_id is not None and (not isinstance(document_id, str) or not document_id):
        raise RequestError(400, "BAD_USER_INPUT", "`documentId` must be a non-empty string")
    names_document = document_id is not None or (extensions or {}).get("persistedQuery") is not None
    if (query is not None or not names_document) and (not isinstance(query, str) or not query.strip()):
        raise RequestError(400, "BAD_USER_INPUT", "`query` must be a non-empty string")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "BAD_USER_INPUT", "`variables` must be an object")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "BAD_USER_INPUT", "`operationName` must be a string")
    return GraphQLParams(query, variables, operation_name, document_id, extensions)


def _loads(raw: bytes | str, what: str) -> Any:
    try:
        # orjson refuses nesting past 1024 levels with a decode error, never a RecursionError.
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, "BAD_USER_INPUT", f"{what} is not valid JSON: {exc.msg}") from exc


async def params_from_post(request: Request, body_limit: int) -> GraphQLParams:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # Only JSON: a form or text/plain post is a "simple" request a browser sends cross-site (CSRF).
    if content_type not in (JSON, "application/graphql+json"):
        raise RequestError(415, "BAD_USER_INPUT", "send GraphQL requests as application/json")
    return _params(_loads(await read_body(request, body_limit), "the request body"))


def params_from_json(raw: bytes | str, what: str) -> GraphQLParams:
    """A JSON text holding one request's parameters (the multipart spec's ``operations`` field)."""
    return _params(_loads(raw, what))


def _json_param(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    return None if raw in (None, "") else _loads(raw, f"`{name}`")


def params_from_get(request: Request) -> GraphQLParams:
    """A query over GET (APQ's hashed GETs among them); the parameters are the POST body's, as URL
    parameters, with ``variables`` and ``extensions`` as JSON text."""
    return _params(
        {
            "query": request.query_params.get("query") or None,
            "variables": _json_param(request, "variables"),
            "operationName": request.query_params.get("operationName") or None,
            "documentId": request.query_params.get("documentId") or None,
            "extensions": _json_param(request, "extensions"),
        }
    )
