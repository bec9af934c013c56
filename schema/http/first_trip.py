"""A request's principal and its budget's charge in one Redis round trip.

A bearer token names its user, and a user's bucket is the user's: once the token's signature is
checked, the charge of the operation (its cost is known from the document alone) and the read of the
session's cache entry go in one script call (persistence/ratelimit.py). ``admit`` later takes the charge
over (schema/guard/protection.py); a request that ends before gives it back.

A trusted document named by id or hash is priced the same way when this process already holds it
(its text is trusted whoever sends it). The usual two round trips remain where the cost needs the
principal or cannot be known first: an API key, free text while trusted documents are enforced (an
operator may run what others may not), a document that does not parse or introspects, an APQ hash or a
document id this process has not loaded yet, an operation over the limit, and while a cache outage is
being recovered from.
"""

from __future__ import annotations

from graphql import OperationType, get_operation_ast
from starlette.requests import Request

from resolvers.auth import session_cache_key
from resolvers.context import Services
from resolvers.principal import Principal
from schema.core.request import GraphQLParams
from schema.guard.documents import DocumentCache
from schema.guard.persisted import PersistedDocuments
from schema.guard.protection import Budget, Precharge, Protection, user_budget
from schema.http.principals import (
    API_KEY_HEADER,
    bearer_claims,
    claims_principal,
    prefetched_principal,
    request_principal,
)


class FirstTrip:
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

    async def principal(
        self, request: Request, params: GraphQLParams
    ) -> tuple[Principal | None, Precharge | None]:
        header = request.headers.get("authorization")
        if header is None or API_KEY_HEADER in request.headers or not self.services.cache.answers:
            return await request_principal(self.services, request), None
        claims = bearer_claims(self.services, header)
        budget = user_budget(claims.user_id, self.services.settings)
        requested = self._requested_cost(request, params, budget)
        charged = None
        if requested is not None:
            charged = await self.protection.precharge(budget, requested, session_cache_key(claims.session_id))
        if charged is None:
            return await claims_principal(self.services, claims), None
        precharge, cached = charged
        try:
            principal = await prefetched_principal(self.services, claims, cached)
        except BaseException:
            self.protection.release(precharge)
            raise
        return principal, precharge

    def _requested_cost(self, request: Request, params: GraphQLParams, budget: Budget) -> int | None:
        """The operation's cost when the principal cannot change whether or what it is charged."""
        text = self.persisted.known_trusted_text(params)
        if text is None:
            if params.query is None or params.document_id is not None:
                return None
            if self.services.settings.trusted_documents_mode == "enforce":
                return None
            text = params.query
        prepared = self.documents.get(text)
        if prepared.document is None or prepared.introspects:
            return None
        operation = get_operation_ast(prepared.document, params.operation_name)
        if operation is None or operation.operation is OperationType.SUBSCRIPTION:
            return None
        if request.method == "GET" and operation.operation is not OperationType.QUERY:
            return None
        return self.protection.requested_cost(prepared.document, operation, params.variables, budget)
