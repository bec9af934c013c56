"""The GraphQL endpoint: one request in, one GraphQL response out, with the statement count kept.

The way through: the principal (schema/http/principals.py), the document (text, APQ hash or trusted
document: schema/guard/persisted.py), parse and validation (cached: schema/guard/documents.py), the
operation's limits, cost and budget (schema/guard/protection.py), execution under a timeout, then the
refund of what the operation did not use, reported in ``extensions.cost`` and the ``X-RateLimit-*`` headers.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import ExecutionResult, OperationType, get_operation_ast
from opentelemetry import trace
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from persistence.metrics import DATABASE_UNAVAILABLE
from persistence.outages import database_unreachable
from persistence.ratelimit import CostLimiter
from persistence.statements import count_statements
from resolvers.context import RequestContext, Services
from resolvers.principal import Principal
from resolvers.trusted_documents import TrustedDocuments
from schema.core.errors import (
    INTERNAL_MESSAGE,
    UNAVAILABLE_CODE,
    UNAVAILABLE_RETRY_AFTER_SECONDS,
    error_body,
    failed_unexpectedly,
    unavailable_body,
)
from schema.core.request import GraphQLParams, RequestError
from schema.engine.compiler.operations import CompiledResult, OperationCompiler
from schema.engine.execute import Execution
from schema.engine.operation import Operation
from schema.engine.tracing import ENGINE, describe_operation, operation_span, operation_tracer
from schema.guard.documents import DocumentCache
from schema.guard.idempotency import HEADER, StoredAnswer, idempotency_for, store_answer, stored_answer
from schema.guard.lanes import AdmissionLanes
from schema.guard.operation_metrics import note_operation, observe_operation
from schema.guard.persisted import PersistedDocuments, ResolvedDocument, persisted_hash
from schema.guard.protection import Budget, Precharge, Protection, budget_for
from schema.http.first_trip import FirstTrip
from schema.http.graphiql_page import graphiql_response
from schema.http.multipart import is_multipart, read_upload_request, require_preflight
from schema.http.principals import request_principal
from schema.http.transport import GRAPHQL_RESPONSE, params_from_get, params_from_post, response_media_type

log = logging.getLogger("taskql.view")

NO_STORE = {"Cache-Control": "no-store"}
# What a request whose client went away before it was read is counted as (nginx's code for it).
CLIENT_CLOSED_REQUEST = 499


@dataclass
class Outcome:
    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # The document never ran: it did not parse or validate, or broke a static limit.
    refused: bool = False
    # The database could not serve it: answered 503 with Retry-After.
    unavailable: bool = False


def _mark_unavailable(payload: dict[str, Any], safe_to_retry: bool) -> bool:
    """Whether an error says the database was out; each such error says whether a retry is safe."""
    outages = [e for e in payload.get("errors", ()) if e["extensions"]["code"] == UNAVAILABLE_CODE]
    for error in outages:
        error["extensions"]["retryable"] = error["extensions"].get("retryable") or safe_to_retry
    return bool(outages)


# Refusals that are a normal step of a well-behaved client: APQ's first hashed request.
NOT_PENALIZED = frozenset({"PERSISTED_QUERY_NOT_FOUND"})


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _document_id(params: GraphQLParams, resolved: ResolvedDocument) -> str | None:
    """What names the document the request ran: a trusted document's id, else an APQ hash."""
    if resolved.trusted is not None:
        return resolved.trusted.document_id
    return persisted_hash(params)


class GraphQLView:
    def __init__(
        self,
        services: Services,
        documents: DocumentCache,
        persisted: PersistedDocuments,
        protection: Protection,
    ) -> None:
        self.services = services
        self.documents = documents
        self.persisted = persisted
        self.protection = protection
        self.settings = services.settings
        self.lanes = AdmissionLanes.from_settings(
            services.settings, services.passwords.threads, documents, persisted
        )
        compiler = (
            OperationCompiler(documents.schema, services.db.engine.dialect, services.settings)
            if services.settings.execution_engine == "compiled"
            else None
        )
        self.execution = Execution(documents.schema, services.settings, compiler)
        self.first_trip = FirstTrip(services, documents, persisted, protection)
        # None while tracing is off: then no span is made (schema/engine/tracing.py).
        self.tracer = operation_tracer()

    @classmethod
    def for_schema(
        cls, services: Services, documents: DocumentCache, trusted: TrustedDocuments
    ) -> GraphQLView:
        """The view over the documents' schema with this service's persisted documents and protection."""
        settings = services.settings
        return cls(
            services,
            documents,
            PersistedDocuments(settings, services.cache, trusted),
            Protection(
                settings,
                documents.schema,
                CostLimiter(
                    services.cache.redis,
                    services.redis_breaker.view("rate limiter"),
                    # With a replica, each charge also asks whether its principal just wrote.
                    asks_written_marks=services.written_marks is not None,
                ),
            ),
        )

    async def handle(self, request: Request) -> Response:
        if request.method == "GET" and self._wants_ide(request):
            return graphiql_response()
        media_type = response_media_type(request)
        try:
            return await self._handle(request, media_type)
        except RequestError as error:
            body: dict[str, Any] = {
                "errors": [error_body(error.code, error.message, **error.error_extensions)]
            }
            if error.response_extensions:
                body["extensions"] = error.response_extensions
            return self._response(body, error.status, media_type, {**error.headers, **NO_STORE})
        except ClientDisconnect:
            # The client hung up before its request was read: not a server error, and no one is
            # left to answer. 499, as nginx and the common proxies count it, so a client cannot trip
            # the 5xx alert, and no traceback for what is not a bug.
            log.info("the client went away before its request was read")
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        except Exception as error:
            if database_unreachable(error):
                # Before execution (the session's read, say): nothing was written, a retry is safe.
                log.warning("the database could not serve a request: %s", error)
                return self._unavailable({"errors": [unavailable_body(retryable=True)]}, media_type, {})
            # Outside execution (authentication against a failing database, say): still a GraphQL
            # error body with a code, never a bare 500 page.
            log.exception("request failed before or around execution")
            body = {"errors": [error_body("INTERNAL_SERVER_ERROR", INTERNAL_MESSAGE)]}
            return self._response(body, 500, media_type, NO_STORE)

    def _wants_ide(self, request: Request) -> bool:
        return (
            self.settings.graphiql_enabled
            and "query" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    def _unavailable(self, payload: dict[str, Any], media_type: str, headers: dict[str, str]) -> Response:
        """503 with Retry-After, for either media type: the database is out, not the request wrong."""
        DATABASE_UNAVAILABLE.inc()
        retry = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)}
        return self._response(payload, 503, media_type, {**headers, **retry, **NO_STORE})

    @staticmethod
    def _response(payload: dict[str, Any], status: int, media_type: str, headers: dict[str, str]) -> Response:
        return Response(orjson.dumps(payload), status_code=status, media_type=media_type, headers=headers)

    async def _handle(self, request: Request, media_type: str) -> Response:
        with (
            operation_span(self.tracer),
            count_statements() as counter,
            observe_operation(self.services_schema, counter) as observed,
        ):
            if request.method == "POST" and is_multipart(request):
                # An upload's time is mostly its client sending (its size is bounded): it takes no
                # slot, or a few slow uploads would stop the process serving anyone else.
                outcome = await self._handle_upload(request, media_type)
            else:
                if request.method == "GET":
                    params = params_from_get(request)
                else:
                    # Read before a slot is taken, for the same reason: a body sent slowly holds none.
                    params = await params_from_post(request, self.settings.max_body_bytes)
                # Inside the observation: a shed request counts in live ops' error rate and latency.
                async with self.lanes.for_request(request.method, params).slot():
                    principal, precharge = await self.first_trip.principal(request, params)
                    outcome = await self._execute(request, params, principal, media_type, precharge=precharge)
            observed.payload = outcome.payload
        if self.settings.statement_count_exposed:
            outcome.payload.setdefault("extensions", {})["sqlStatements"] = counter.count
        if outcome.unavailable:
            return self._unavailable(outcome.payload, media_type, outcome.headers)
        if request.method == "GET" and outcome.status == 200 and "errors" not in outcome.payload:
            return self._cacheable(request, outcome, media_type)
        return self._response(outcome.payload, outcome.status, media_type, {**outcome.headers, **NO_STORE})

    def _cacheable(self, request: Request, outcome: Outcome, media_type: str) -> Response:
        """A query's answer over GET: the browser may keep it (it is per user: never a shared cache)
        and revalidate it by its ETag."""
        body = orjson.dumps(outcome.payload)
        # Of the data only: the extensions (the budget left, say) change with every request.
        data = orjson.dumps(outcome.payload.get("data"))
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        headers = {
            **outcome.headers,
            "Cache-Control": f"private, max-age={self.settings.get_cache_max_age_seconds}",
            "Vary": "Authorization, X-Api-Key, Accept",
            "ETag": etag,
        }
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, status_code=200, media_type=media_type, headers=headers)

    async def _handle_upload(self, request: Request, media_type: str) -> Outcome:
        """A multipart request (schema/http/multipart.py): the CSRF rule and the token are checked before
        any of the body is read; the staging files are gone when the answer leaves."""
        require_preflight(request)
        principal = await request_principal(self.services, request)
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
        precharge: Precharge | None = None,
    ) -> Outcome:
        """``identity``: the request as an Idempotency-Key's hash sees it, when ``params`` carry files;
        ``precharge``: the charge made with the principal's read (schema/http/first_trip.py), given back
        unless admitted. A principal known to have run dry is refused first; a refused request costs
        its principal."""
        budget = budget_for(principal, client_address(request), self.settings)
        try:
            self.protection.gate(budget)
            outcome = await self._run(request, params, principal, media_type, budget, identity, precharge)
        except RequestError as error:
            self.protection.release(precharge)  # before the penalty's charge, which takes it along
            if error.status in (400, 403, 405) and error.code not in NOT_PENALIZED:
                await self.protection.penalize(budget)
            raise
        finally:
            self.protection.release(precharge)
        if outcome.refused:
            await self.protection.penalize(budget)
        return outcome

    async def _run(
        self,
        request: Request,
        params: GraphQLParams,
        principal: Principal | None,
        media_type: str,
        budget: Budget,
        identity: GraphQLParams | None,
        precharge: Precharge | None,
    ) -> Outcome:
        # With application/json every GraphQL answer is a 200; the newer media type says 400 for
        # a request that never executed.
        request_error_status = 400 if media_type == GRAPHQL_RESPONSE else 200
        resolved = await self.persisted.resolve(params, principal, request_error_status)
        prepared = self.documents.get(resolved.text)
        if prepared.document is None:
            return Outcome(request_error_status, {"errors": prepared.errors}, refused=True)
        operation = get_operation_ast(prepared.document, params.operation_name)
        if operation is None:
            message = (
                "name the operation to run with `operationName`"
                if params.operation_name is None
                else (f"no operation named {params.operation_name!r} in the document")
            )
            raise RequestError(400, "BAD_USER_INPUT", message)
        note_operation(prepared.document, operation, resolved.trusted)
        if self.tracer is not None:
            describe_operation(trace.get_current_span(), operation, _document_id(params, resolved))
        if operation.operation is OperationType.SUBSCRIPTION:
            raise RequestError(400, "BAD_USER_INPUT", "subscriptions run over WebSocket, not HTTP")
        if request.method == "GET" and operation.operation is not OperationType.QUERY:
            raise RequestError(405, "BAD_USER_INPUT", "mutations must be sent with POST", {"Allow": "POST"})
        if (
            operation.operation is OperationType.MUTATION
            and principal is not None
            and not principal.can_write
        ):
            raise RequestError(403, "FORBIDDEN", "this API key may read only (scope `read`)")
        self.protection.check_introspection(principal, introspects=prepared.introspects)
        admission = await self.protection.admit(
            prepared.document, operation, params.variables, budget, precharge
        )
        idempotency = None
        if operation.operation is OperationType.MUTATION:
            idempotency = idempotency_for(
                request.headers.get(HEADER), principal, operation, identity or params
            )
        stored = None if idempotency is None else await stored_answer(self.services.cache, idempotency)
        if stored is not None:
            # A replay runs nothing: its whole charge comes back.
            cost, headers = await self.protection.settle(admission, None, operation)
            stored.payload.setdefault("extensions", {})["cost"] = cost
            return Outcome(stored.status, stored.payload, headers)
        context = RequestContext(
            self.services,
            principal=principal,
            client_address=client_address(request),
            idempotency=idempotency,
        )
        result = await self.execution.execute(
            Operation(prepared.document, operation, params.operation_name, params.variables), context
        )
        if self.tracer is not None:
            engine = "compiled" if isinstance(result, CompiledResult) else "resolvers"
            trace.get_current_span().set_attribute(ENGINE, engine)
        status, payload = self._result_payload(result, request_error_status)
        data = result.data_for_cost() if isinstance(result, CompiledResult) else result.data
        cost, headers = await self.protection.settle(admission, data, operation)
        payload.setdefault("extensions", {})["cost"] = cost
        # A bug or an outage is not the answer a retry should be held to.
        if idempotency is not None and not failed_unexpectedly(payload):
            answer = StoredAnswer(status, payload)
            await store_answer(
                self.services.cache, idempotency, answer, self.settings.idempotency_ttl_seconds
            )
        # A read, or a write its key guards, is safe to send again whatever the outage did to it.
        safe_to_retry = operation.operation is not OperationType.MUTATION or idempotency is not None
        return Outcome(status, payload, headers, unavailable=_mark_unavailable(payload, safe_to_retry))

    def _result_payload(
        self, result: ExecutionResult, request_error_status: int
    ) -> tuple[int, dict[str, Any]]:
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]  # coded by the engine
        if result.data is None and result.errors and all(not e.path for e in result.errors):
            # Variables that did not coerce: the operation never started.
            return request_error_status, payload
        payload["data"] = result.data
        return 200, payload

    @property
    def services_schema(self) -> Any:
        return self.documents.schema
