"""Each operation falls in the seed's class its root fields say."""

from __future__ import annotations

import pytest
from graphql import OperationDefinitionNode, parse

from schema.build import build_schema
from schema.guard.operation_class import OperationClass, classify

SCHEMA = build_schema()._schema

CASES = {
    "login": ('mutation { authLogin(input: {email: "a", password: "b"}) { accessToken } }', "auth"),
    "reset": ('mutation { passwordResetRequest(input: {email: "a"}) { ok } }', "auth"),
    "upload": (
        'mutation($f: Upload!) { attachmentUpload(input: {taskId: "x", file: $f}) { errors { code } } }',
        "upload",
    ),
    "write": ('mutation { taskUpdate(input: {id: "x", version: 1}) { errors { code } } }', "write"),
    "search": ('{ searchTasks(query: "deploy") { totalCount } }', "search"),
    "list": ("{ tasks(first: 5) { totalCount } }", "list"),
    "list through a fragment": ("query { ...F } fragment F on Query { projects { totalCount } }", "list"),
    "read by id": ('{ task(id: "x") { id } }', "read"),
    "viewer": ("{ viewer { user { id } } }", "read"),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_each_operation_has_its_class(text: str, expected: str) -> None:
    document = parse(text)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert classify(SCHEMA, document, operation) is OperationClass(expected)
