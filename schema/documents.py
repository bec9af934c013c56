"""Parsed and validated documents, cached by their text: each distinct document is parsed once."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, specified_rules, validate

from schema.errors import Phase, format_error

# Longer documents are parsed every time, so the cache's memory stays bounded.
MAX_CACHED_LENGTH = 20_000


@dataclass(frozen=True)
class PreparedDocument:
    document: DocumentNode | None
    # Parse or validation errors, already formatted; cached as well, so a bad document costs once.
    errors: list[dict[str, Any]]


class DocumentCache:
    def __init__(self, schema: GraphQLSchema, *, max_entries: int, max_tokens: int) -> None:
        self.schema = schema
        self.max_entries = max_entries
        self.max_tokens = max_tokens
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
            return PreparedDocument(None, [format_error(error, Phase.PARSE, expose_internal=False)])
        errors = validate(self.schema, document, specified_rules)
        if errors:
            return PreparedDocument(
                None, [format_error(e, Phase.VALIDATE, expose_internal=False) for e in errors]
            )
        return PreparedDocument(document, [])
