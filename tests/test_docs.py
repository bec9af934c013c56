"""The guides keep their promises: every GraphQL example runs against the live schema, every error code
the server can answer with is documented, and every relative link leads to a file of the repository."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import parse, validate

from resolvers.mutations import ErrorCode
from schema.build import build_schema

ROOT = Path(__file__).resolve().parents[1]
GUIDES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "perf" / "README.md"]
API_GUIDE = ROOT / "docs" / "api.md"
# Where the server decides the codes it answers with (the domain errors, the HTTP edge, the guard,
# the WebSocket edge and the formatter).
CODE_SOURCES = ["resolvers", "schema"]
FENCED_GRAPHQL = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _examples() -> Iterator[tuple[str, str]]:
    for guide in GUIDES:
        for number, match in enumerate(FENCED_GRAPHQL.finditer(guide.read_text()), start=1):
            yield f"{guide.relative_to(ROOT)}#{number}", match.group(1)


EXAMPLES = list(_examples())


def test_the_guides_have_graphql_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("where", "text"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_each_graphql_example_validates_against_the_schema(where: str, text: str) -> None:
    # Given a GraphQL example from a guide
    document = parse(text)
    # When graphql-core validates it against the live schema
    errors = validate(build_schema()._schema, document)
    # Then it is valid as written
    assert errors == [], [e.message for e in errors]


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _codes_in(tree: ast.AST) -> Iterator[str | None]:
    """The codes a module answers with: RequestError(status, CODE, ...), error_body(CODE, ...),
    LimitExceeded(CODE, ...), a class's ``code = CODE``, ``extensions["code"] = CODE`` and
    ``extensions.setdefault("code", CODE)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "RequestError" and len(node.args) > 1:
                yield _string(node.args[1])
            elif name in {"error_body", "LimitExceeded"} and node.args:
                yield _string(node.args[0])
            elif name == "setdefault" and len(node.args) == 2 and _string(node.args[0]) == "code":
                yield _string(node.args[1])
        elif isinstance(node, ast.Assign):
            target = node.targets[0]
            if (isinstance(target, ast.Name) and target.id == "code") or (
                isinstance(target, ast.Subscript) and _string(target.slice) == "code"
            ):
                yield _string(node.value)


def _raised_codes() -> set[str]:
    codes: set[str | None] = set()
    for folder in CODE_SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            codes.update(_codes_in(ast.parse(path.read_text())))
    return {code for code in codes if code}


def test_the_code_scan_finds_the_codes_of_every_layer() -> None:
    assert {"UNAUTHENTICATED", "URL_NOT_ALLOWED", "GRAPHQL_PARSE_FAILED", "DEPTH_LIMIT_EXCEEDED"} <= (
        _raised_codes()
    )
    assert {"OVERLOADED", "CSRF_PREVENTED", "LIMIT_EXCEEDED", "TOKEN_LIMIT_EXCEEDED"} <= _raised_codes()


def test_every_error_code_is_documented() -> None:
    # Given every extensions.code the server raises and every payload error code
    codes = _raised_codes() | {code.name for code in ErrorCode}
    # When docs/api.md is read
    guide = API_GUIDE.read_text()
    # Then each code is named there
    missing = sorted(code for code in codes if f"`{code}`" not in guide)
    assert missing == [], f"codes missing from docs/api.md: {missing}"


def _links() -> Iterator[tuple[Path, str]]:
    for guide in GUIDES:
        for target in LINK.findall(guide.read_text()):
            if not target.startswith(("http://", "https://", "#", "mailto:")):
                yield guide, target.split("#", 1)[0]


@pytest.mark.parametrize(
    ("guide", "target"), list(_links()), ids=[f"{g.relative_to(ROOT)}:{t}" for g, t in _links()]
)
def test_each_relative_link_leads_to_a_file_of_the_repository(guide: Path, target: str) -> None:
    resolved = (guide.parent / target).resolve()
    assert resolved.is_relative_to(ROOT), target
    assert resolved.exists(), target
