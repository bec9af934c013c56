"""TrustedDocument and trustedDocumentsRegister: platform operators register a client's manifest."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import trusted_documents as resolvers
from resolvers.context import RequestContext
from resolvers.engines import EngineChoice
from resolvers.mutations import Outcome, outcome_of
from schema.core.ids import encode_id
from schema.core.node import Node
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.guard.registration import preparer

Ctx = Info[RequestContext, None]


@strawberry.type(description="An operation API-key clients may run, by `documentId` or by `sha256`.")
class TrustedDocument(Node):
    document_id: str = strawberry.field(
        description="The id clients send as `documentId`, unique and immutable."
    )
    sha256: str = strawberry.field(description="Hex SHA-256 of the body's UTF-8 text.")
    name: str | None = strawberry.field(description="The operation's name, if it has one.")
    client_name: str = strawberry.field(description="The client that registered it.")
    operation_type: str = strawberry.field(description="query, mutation or subscription.")
    cost: int = strawberry.field(description="The operation's cost with every page at the cap.")
    engine: str | None = strawberry.field(
        description="The execution engine that runs it, as judged when registered: `compiled` (one SQL "
        "statement per root field) or `resolvers`; null when not judged."
    )
    uncovered_field: str | None = strawberry.field(
        description="When the resolvers run it: the first field (or argument, or kind of operation) "
        "the compiled engine does not cover."
    )

    @classmethod
    def of(cls, document: resolvers.TrustedDocument, engine: EngineChoice | None) -> TrustedDocument:
        return cls(
            id=strawberry.ID(encode_id("TrustedDocument", document.id)),
            document_id=document.document_id,
            sha256=document.sha256,
            name=document.name,
            client_name=document.client_name,
            operation_type=document.operation_type,
            cost=document.cost,
            engine=None if engine is None else engine.engine,
            uncovered_field=None if engine is None else engine.uncovered,
        )


@strawberry.input(description="What `trustedDocumentsRegister` and `trustedDocumentsRegisterV2` take.")
class TrustedDocumentsRegisterInput:
    client_name: str = strawberry.field(description=f"1 to {resolvers.MAX_CLIENT_NAME} characters.")
    manifest: JSON = strawberry.field(
        description='An Apollo persisted-query manifest (`{"format": "apollo-persisted-query-manifest", '
        '"version": 1, "operations": [{"id", "name", "type", "body"}]}`) or a Relay map '
        '(`{"<id>": "<query text>"}`).'
    )


@strawberry.type(description="What `trustedDocumentsRegister` answers.")
class TrustedDocumentsRegisterPayload:
    registered: int = strawberry.field(description="Documents stored by this request.")
    unchanged: int = strawberry.field(description="Documents registered before with the same body.")
    documents: list[TrustedDocument] = strawberry.field(
        description="Every document of the manifest, as registered."
    )

    @classmethod
    def of(cls, result: resolvers.RegisterResult) -> TrustedDocumentsRegisterPayload:
        return cls(
            registered=result.registered,
            unchanged=result.unchanged,
            documents=_documents(result),
        )


def _documents(result: resolvers.RegisterResult) -> list[TrustedDocument]:
    return [TrustedDocument.of(d, result.engines.get(d.document_id)) for d in result.documents]


@strawberry.type(description="An expected failure of trustedDocumentsRegisterV2.")
class TrustedDocumentsRegisterV2Error(MutationError):
    pass


@strawberry.type(description="What trustedDocumentsRegisterV2 answers: counts and documents, or errors.")
class TrustedDocumentsRegisterV2Payload:
    errors: list[TrustedDocumentsRegisterV2Error] = strawberry.field(
        description="Empty when the manifest was registered; else nothing was."
    )
    registered: int | None = strawberry.field(description="Documents stored by this request.")
    unchanged: int | None = strawberry.field(description="Documents registered before with the same body.")
    documents: list[TrustedDocument] | None = strawberry.field(
        description="Every document of the manifest, as registered; null on errors."
    )

    @classmethod
    def of(cls, outcome: Outcome[resolvers.RegisterResult]) -> TrustedDocumentsRegisterV2Payload:
        result = outcome.value
        return cls(
            errors=errors_as(TrustedDocumentsRegisterV2Error, outcome),
            registered=None if result is None else result.registered,
            unchanged=None if result is None else result.unchanged,
            documents=None if result is None else _documents(result),
        )


@strawberry.type
class TrustedDocumentMutation:
    @strawberry.mutation(
        description="Registers a manifest's documents, all or none: each must validate against the schema, "
        "and an id registered before must keep its body. Platform operators only.",
        deprecation_reason="Use `trustedDocumentsRegisterV2`: the same, with a refused manifest in the "
        "payload's `errors`.",
    )
    async def trusted_documents_register(
        self,
        info: Ctx,
        input: MutationInput[TrustedDocumentsRegisterInput],  # noqa: A002
    ) -> TrustedDocumentsRegisterPayload:
        return TrustedDocumentsRegisterPayload.of(await _register(info, input))

    @strawberry.mutation(
        description="Registers a manifest's documents, all or none: each must validate against the schema, "
        "and an id registered before must keep its body; a manifest refused is INVALID on `manifest` or "
        "`clientName`, and nothing is registered. Platform operators only (FORBIDDEN, top-level)."
    )
    async def trusted_documents_register_v2(
        self,
        info: Ctx,
        input: MutationInput[TrustedDocumentsRegisterInput],  # noqa: A002
    ) -> TrustedDocumentsRegisterV2Payload:
        outcome = await outcome_of(_register(info, input), missing_field=None)
        return TrustedDocumentsRegisterV2Payload.of(outcome)


async def _register(info: Ctx, input: TrustedDocumentsRegisterInput) -> resolvers.RegisterResult:  # noqa: A002
    services = info.context.services
    prepare = preparer(info.schema._schema, services.settings, services.operation_engine)
    return await resolvers.register_manifest(
        info.context, input.manifest, client_name=input.client_name, prepare=prepare
    )
