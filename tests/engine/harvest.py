"""The suite's read documents and perf's trusted ones, for the differential run.

The suite's: every str constant of tests/**/*.py (read from the Python AST: implicit concatenation is
one constant; f-strings are skipped, counted) that starts like a GraphQL document and parses, validates
against the live schema and holds a query operation; each query operation becomes a document of its
own with the fragments it spreads. Perf's: every .graphql file under perf/ (the trusted documents the
benches register), the same way. Strings that start like a document but are not a valid one (pieces of
documents, the deliberately invalid ones of the error tests) are counted by why.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    parse,
    print_ast,
    separate_operations,
    validate,
    visit,
)

from tests.engine.generator import SIGNED_LINKS

ROOT = Path(__file__).resolve().parents[2]
# What a document starts with, after comments: a selection set or a definition's keyword.
_LOOKS_LIKE_GRAPHQL = re.compile(r"\s*(#[^\n]*\n\s*)*(\{|(query|mutation|subscription|fragment)\b)")


@dataclass(frozen=True)
class ReadDocument:
    origin: str  # the file (and line) it came from
    text: str  # one query operation and the fragments it spreads


@dataclass
class Harvest:
    documents: list[ReadDocument] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    _seen: set[str] = field(default_factory=set)

    def add(self, schema: GraphQLSchema, origin: str, text: str) -> None:
        try:
            document = parse(text)
        except GraphQLSyntaxError:
            self.skipped["not a whole document"] += 1
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if not operations:
            self.skipped["fragments only"] += 1
            return
        if all(op.operation != OperationType.QUERY for op in operations):
            self.skipped["mutation or subscription"] += 1
            return
        if validate(schema, document):
            self.skipped["invalid against the schema"] += 1
            return
        if _selects_signed_links(document):
            self.skipped["signed links (they move with the clock)"] += 1
            return
        queries = {
            op.name.value if op.name else "" for op in operations if op.operation == OperationType.QUERY
        }
        for name, separated in separate_operations(document).items():
            printed = print_ast(separated)
            if name in queries and printed not in self._seen:
                self._seen.add(printed)
                self.documents.append(ReadDocument(origin, printed))


def _constants(path: Path) -> tuple[list[tuple[int, str]], int]:
    """The file's str constants that start like a document (with their lines), and how many f-strings
    started like one (their values are not known without running the test)."""
    nodes = list(ast.walk(ast.parse(path.read_text(), str(path))))
    formatted = [node for node in nodes if isinstance(node, ast.JoinedStr)]
    # An f-string's literal parts are constants too: pieces, not documents.
    pieces = {id(part) for node in formatted for part in node.values}
    found = [
        (node.lineno, node.value)
        for node in nodes
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in pieces
        and _LOOKS_LIKE_GRAPHQL.match(node.value)
    ]
    heads = [node.values[0] for node in formatted if node.values]
    starts_like_one = sum(
        isinstance(head, ast.Constant) and bool(_LOOKS_LIKE_GRAPHQL.match(str(head.value))) for head in heads
    )
    return found, starts_like_one


def suite_documents(schema: GraphQLSchema) -> Harvest:
    harvest = Harvest()
    for path in sorted((ROOT / "tests").rglob("*.py")):
        constants, formatted = _constants(path)
        harvest.skipped["f-string"] += formatted
        for line, text in constants:
            harvest.add(schema, f"{path.relative_to(ROOT)}:{line}", text)
    return harvest


def perf_documents(schema: GraphQLSchema) -> Harvest:
    harvest = Harvest()
    for path in sorted((ROOT / "perf").rglob("*.graphql")):
        harvest.add(schema, str(path.relative_to(ROOT)), path.read_text())
    return harvest


def _selects_signed_links(document: DocumentNode) -> bool:
    """Whether the document names a field whose value is signed for the moment it is read."""
    names = {coordinate.split(".")[1] for coordinate in SIGNED_LINKS}
    found = False

    class Finder(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            nonlocal found
            found = found or node.name.value in names

    visit(document, Finder())
    return found
