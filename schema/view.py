"""The GraphQL endpoint: one request in, one GraphQL response out, with the statement count kept."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import orjson
from graphql import ExecutionResult, OperationType, execute, get_operation_ast
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.http.ides import get_graphql_ide_html

from persistence.statements import count_statements
from resolvers.auth import authenticate_bearer
from resolvers.context import RequestContext, Services
from resolvers.errors import Unauthenticated
from resolvers.principal import Principal
from schema.documents import DocumentCache
from schema.errors import INTERNAL_MESSAGE, Phase, error_body, format_error
from schema.idempotency import HEADER, StoredAnswer, idempotency_for, store_answer, stored_answer
from schema.multipart import is_multipart, read_upload_request, require_preflight
from schema.transport import (
    GRAPHQL_RESPONSE,
    GraphQLParams,
    RequestError,
    params_from_get,
    params_from_post,
    response_media_type,
)

log = logging.getLogger("taskql.view")


def _json_response(
    payload: dict[str, Any], status: int, media_type: str, headers: dict[str, str]
) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=media_type, headers=headers)


def _failed_unexpectedly(payload: dict[str, Any]) -> bool:
    """A bug or an outage is not the answer a retry should be held to."""
    return any(e["extensions"]["code"] == "INTERNAL_SERVER_ERROR" for e in payload.get("errors", ()))


async def bearer_principal(services: Services, request: Request) -> Principal | None:
    """The request's `Authorization: Bearer` principal; None without the header, 401 for a bad one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise RequestError(401, "UNAUTHENTICATED", "use `Authorization: Bearer <access token>`")
    try:
        return await authenticate_bearer(services, token.strip())
    except Unauthenticated as error:
        raise RequestError(
            401, "UNAUTHENTICATED", error.message, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from error


class GraphQLView:
    def __init__(self, services: Services, documents: DocumentCache) -> None:
        self.services = services
        self.documents = documents
        self.settings = services.settings

    async def handle(self, request: Request) -> Response:
        media_type = response_media_type(request)
        try:
            if request.method == "GET" and self._wants_ide(request):
                return HTMLResponse(get_graphql_ide_html(graphql_ide="graphiql"))
            return await self._handle(request, media_type)
        except RequestError as error:
            headers = dict(error.headers)
            body = {"errors": [error_body(error.code, error.message)]}
            return _json_response(body, error.status, media_type, headers)
        except Exception:
            # Outside execution (authentication against a failing database, say): still a GraphQL
            # error body with a code, never a bare 500 page.
            log.exception("request failed before or around execution")
            body = {"errors": [error_body("INTERNAL_SERVER_ERROR", INTERNAL_MESSAGE)]}
            return _json_response(body, 500, media_type, {})

    def _wants_ide(self, request: Request) -> bool:
        return (
            self.settings.graphiql_enabled
            and "query" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    async def _principal(self, request: Request) -> Principal | None:
        return await bearer_principal(self.services, request)

    async def _handle(self, request: Request, media_type: str) -> Response:
        with count_statements() as counter:
            if request.method == "POST" and is_multipart(request):
                status, payload = await self._handle_upload(request, media_type)
            else:
                if request.method == "GET":
                    params = params_from_get(request)
                else:
                    params = await params_from_post(request, self.settings.max_body_bytes)
                principal = await self._principal(request)
                status, payload = await self._execute(request, params, principal, media_type)
        if self.settings.statement_count_exposed:
            payload.setdefault("extensions", {})["sqlStatements"] = counter.count
        return _json_response(payload, status, media_type, {})

    async def _handle_upload(self, request: Request, media_type: str) -> tuple[int, dict[str, Any]]:
        """A multipart request (schema/multipart.py): the CSRF rule and the token are checked before
        any of the body is read; the staging files are gone when the answer leaves."""
        require_preflight(request)
        principal = await self._principal(request)
        if principal is None:
            raise RequestError(
                401, "UNAUTHENTICATED", "an upload needs `Authorization: Bearer <access token>`"
            )
        upload = await read_upload_request(request, self.documents, self.settings)
        try:
            return await self._execute(request, upload.params, principal, media_type, upload.identity)
        finally:
            await upload.discard()

    async def _execute(
        self,
        request: Request,
        params: GraphQLParams,
        principal: Principal | None,
        media_type: str,
        identity: GraphQLParams | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """``identity``: the request as an Idempotency-Key's hash sees it, when ``params`` carry files."""
        # With application/json every GraphQL answer is a 200; the newer media type says 400 for
        # a request that never executed.
        request_error_status = 400 if media_type == GRAPHQL_RESPONSE else 200
        prepared = self.documents.get(params.query)
        if prepared.document is None:
            return request_error_status, {"errors": prepared.errors}
        operation = get_operation_ast(prepared.document, params.operation_name)
        if operation is None:
            message = (
                "name the operation to run with `operationName`"
                if params.operation_name is None
                else (f"no operation named {params.operation_name!r} in the document")
            )
            raise RequestError(400, "BAD_USER_INPUT", message)
        if operation.operation is OperationType.SUBSCRIPTION:
            raise RequestError(400, "BAD_USER_INPUT", "subscriptions run over WebSocket, not HTTP")
        if request.method == "GET" and operation.operation is not OperationType.QUERY:
            raise RequestError(405, "BAD_USER_INPUT", "mutations must be sent with POST", {"Allow": "POST"})
        idempotency = None
        if operation.operation is OperationType.MUTATION:
            idempotency = idempotency_for(
                request.headers.get(HEADER), principal, operation, identity or params
            )
        if idempotency is not None:
            stored = await stored_answer(self.services.cache, idempotency)
            if stored is not None:
                return stored.status, stored.payload
        client = request.client.host if request.client else None
        context = RequestContext(
            self.services, principal=principal, client_address=client, idempotency=idempotency
        )
        result = execute(
            self.services_schema,
            prepared.document,
            context_value=context,
            variable_values=params.variables,
            operation_name=params.operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a TypeGuard in spirit
            hide_suggestions=not self.settings.suggestions_enabled,
        )
        if inspect.isawaitable(result):
            result = await result
        status, payload = self._result_payload(result, request_error_status)
        if idempotency is not None and not _failed_unexpectedly(payload):
            answer = StoredAnswer(status, payload)
            await store_answer(
                self.services.cache, idempotency, answer, self.settings.idempotency_ttl_seconds
            )
        return status, payload

    def _result_payload(
        self, result: ExecutionResult, request_error_status: int
    ) -> tuple[int, dict[str, Any]]:
        payload: dict[str, Any] = {}
        expose = self.settings.is_development
        if result.errors:
            payload["errors"] = [
                format_error(e, Phase.EXECUTE, expose_internal=expose) for e in result.errors
            ]
        if result.data is None and result.errors and all(not e.path for e in result.errors):
            # Variables that did not coerce: the operation never started.
            return request_error_status, payload
        payload["data"] = result.data
        return 200, payload

    @property
    def services_schema(self) -> Any:
        return self.documents.schema
