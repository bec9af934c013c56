"""Static limits of one operation: depth, aliases, root fields and directives, counted through fragments.

A fragment counts at every spread (a fragment of 20 aliases spread 5 times is 100 aliases), since
that is what execution does with it. Expanding spreads naively is exponential in a "fragment bomb"
(A spreads B twice, B spreads C twice, ...), so each fragment is summarised once and its summary is
reused at every spread: the work is linear in the document, whatever the expansion would be, and
this also holds for a bomb that raises none of the limits (no aliases, nested under one field),
which returning early on the first exceeded limit could not bound. Counts saturate so a bomb's
numbers stay machine-sized.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from resolvers.errors import DomainError

# Far above any limit, far below what slows integer arithmetic.
_SATURATION = 1_000_000_000
_TOKEN_LIMIT_MESSAGE = re.compile(r"Document contains more than \d+ tokens\. Parsing aborted\.")


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int
    max_aliases: int
    max_root_fields: int
    max_directives: int


class LimitExceeded(DomainError):
    """An operation over one of its limits; the code names which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class _Counts:
    """What one selection set adds up to, fragments expanded.

    Never mutated (a fragment's counts are shared by its spreads), yet not frozen: one is built per
    field of every checked operation, and a frozen dataclass takes twice as long to build.
    """

    depth: int = 0
    aliases: int = 0
    fields: int = 0  # fields at this level: the root fields when the level is the operation's
    directives: int = 0

    def __add__(self, other: _Counts) -> _Counts:
        return _Counts(
            depth=max(self.depth, other.depth),
            aliases=min(self.aliases + other.aliases, _SATURATION),
            fields=min(self.fields + other.fields, _SATURATION),
            directives=min(self.directives + other.directives, _SATURATION),
        )


class _Counter:
    def __init__(self, document: DocumentNode) -> None:
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._summaries: dict[str, _Counts] = {}
        # Validation rejects fragment cycles; an unvalidated one still must not recurse forever.
        self._entered: set[str] = set()

    def selection_set(self, selection_set: SelectionSetNode | None) -> _Counts:
        total = _Counts()
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += self._field(selection)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set) + _directives(selection)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value) + _directives(selection)
        return total

    def _field(self, field: FieldNode) -> _Counts:
        below = self.selection_set(field.selection_set)
        # `__typename` is a leaf that every type has: asking for it is no deeper a query.
        depth = 0 if field.name.value == "__typename" else 1 + below.depth
        return _Counts(
            depth=depth,
            aliases=min(below.aliases + (1 if field.alias else 0), _SATURATION),
            fields=1,
            directives=min(below.directives + len(field.directives or ()), _SATURATION),
        )

    def _fragment(self, name: str) -> _Counts:
        summary = self._summaries.get(name)
        if summary is not None:
            return summary
        fragment = self._fragments.get(name)
        if fragment is None or name in self._entered:
            return _Counts()
        self._entered.add(name)
        summary = self.selection_set(fragment.selection_set) + _directives(fragment)
        self._entered.discard(name)
        self._summaries[name] = summary
        return summary


def _directives(node: InlineFragmentNode | FragmentSpreadNode | FragmentDefinitionNode) -> _Counts:
    return _Counts(directives=len(node.directives or ()))


def check_limits(
    document: DocumentNode, operation: OperationDefinitionNode, limits: QueryLimits
) -> LimitExceeded | None:
    """The first limit the operation exceeds, or None when it keeps them all."""
    counts = _Counter(document).selection_set(operation.selection_set)
    directives = counts.directives + len(operation.directives or ())
    if counts.depth > limits.max_depth:
        return LimitExceeded(
            "DEPTH_LIMIT_EXCEEDED", f"query depth {counts.depth} exceeds the limit of {limits.max_depth}"
        )
    if counts.aliases > limits.max_aliases:
        return LimitExceeded(
            "ALIAS_LIMIT_EXCEEDED",
            f"alias count {counts.aliases} exceeds the limit of {limits.max_aliases}",
        )
    if counts.fields > limits.max_root_fields:
        return LimitExceeded(
            "ROOT_FIELD_LIMIT_EXCEEDED",
            f"root field count {counts.fields} exceeds the limit of {limits.max_root_fields}",
        )
    if directives > limits.max_directives:
        return LimitExceeded(
            "DIRECTIVE_LIMIT_EXCEEDED",
            f"directive count {directives} exceeds the limit of {limits.max_directives}",
        )
    return None


def is_token_limit_error(error: GraphQLError) -> bool:
    """Whether `parse(max_tokens=...)` gave up on the document (reported as TOKEN_LIMIT_EXCEEDED)."""
    return isinstance(error, GraphQLSyntaxError) and bool(_TOKEN_LIMIT_MESSAGE.search(error.message))
