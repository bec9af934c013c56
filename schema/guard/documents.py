"""Parsed and validated documents, cached by their text: each distinct document is parsed once.

The static limits (schema/guard/limits.py) are checked between parsing and validation: a fragment bomb is
refused for the price of its parse (~1 ms) instead of its validation as well (3-5 ms, measured by
`make bench-attack`), and an attacker's documents are all different, so no cache would help. A
document that both breaks a limit and fails validation therefore reports the limit.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)

from schema.core.errors import Phase, error_body, format_error
from schema.guard.limits import QueryLimits, check_limits, is_token_limit_error
from schema.guard.protection import INTROSPECTION_DEPTH, uses_introspection
from schema.guard.validation_errors import bounded_errors

# Longer documents are parsed every time, so the cache's memory stays bounded.
MAX_CACHED_LENGTH = 20_000


@dataclass(frozen=True)
class PreparedDocument:
    document: DocumentNode | None
    # Parse or validation errors, already formatted; cached as well, so a bad document costs once.
    errors: list[dict[str, Any]]
    # Whether it asks for the schema (`__schema`, `__type`): open to some principals only.
    introspects: bool = False


class DocumentCache:
    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        max_entries: int,
        max_tokens: int,
        limits: QueryLimits,
        hide_suggestions: bool = False,
    ) -> None:
        self.schema = schema
        self.max_entries = max_entries
        self.max_tokens = max_tokens
        self.limits = limits
        # "Did you mean ...?" in validation errors tells a stranger the schema's field names.
        self.hide_suggestions = hide_suggestions
        self._entries: OrderedDict[str, PreparedDocument] = OrderedDict()

    def get(self, query: str) -> PreparedDocument:
        prepared = self._entries.get(query)
        if prepared is not None:
            self._entries.move_to_end(query)
            return prepared
        prepared = self._prepare(query)
        if len(query) > MAX_CACHED_LENGTH:
            return prepared
        self._entries[query] = prepared
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return prepared

    def _prepare(self, query: str) -> PreparedDocument:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            formatted = format_error(error, Phase.PARSE, expose_internal=False)
            if is_token_limit_error(error):
                formatted["extensions"]["code"] = "TOKEN_LIMIT_EXCEEDED"
            return PreparedDocument(None, [formatted])
        introspects = uses_introspection(document)
        exceeded = self._exceeded_limit(document, introspects)
        if exceeded is not None:
            return PreparedDocument(None, [exceeded])
        errors = validate(self.schema, document, specified_rules, hide_suggestions=self.hide_suggestions)
        if errors:
            return PreparedDocument(
                None, [format_error(e, Phase.VALIDATE, expose_internal=False) for e in bounded_errors(errors)]
            )
        return PreparedDocument(document, [], introspects)

    def _exceeded_limit(self, document: DocumentNode, introspects: bool) -> dict[str, Any] | None:
        """The first limit any operation of the document breaks, as an error body (its message is the
        client's to read, never masked)."""
        limits = self.limits
        if introspects:
            # The standard introspection query (GraphiQL's, codegen's) nests `ofType` 15 levels deep;
            # who may introspect at all is decided per principal (schema/guard/protection.py).
            limits = replace(limits, max_depth=max(limits.max_depth, INTROSPECTION_DEPTH))
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                exceeded = check_limits(document, definition, limits)
                if exceeded is not None:
                    return error_body(exceeded.code, exceeded.message)
        return None
