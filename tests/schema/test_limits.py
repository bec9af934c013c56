"""Static limits of one operation (schema/guard/limits.py), counted through fragments and inline fragments."""

from __future__ import annotations

import pytest
from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode, get_operation_ast, parse

from schema.guard.limits import LimitExceeded, QueryLimits, check_limits, is_token_limit_error

LIMITS = QueryLimits(max_depth=12, max_aliases=30, max_root_fields=10, max_directives=20)


def check(source: str, operation_name: str | None = None) -> LimitExceeded | None:
    document = parse(source)
    operation = get_operation_ast(document, operation_name)
    assert isinstance(operation, OperationDefinitionNode)
    return check_limits(document, operation, LIMITS)


def rejection(source: str, operation_name: str | None = None) -> LimitExceeded:
    error = check(source, operation_name)
    assert error is not None, "expected the operation to be rejected"
    return error


def nested(levels: int) -> str:
    """A query `levels` fields deep: { task { parent { ... { id } } } }."""
    return "{ " + " { ".join(["task(id: 1)", *["parent"] * (levels - 2), "id"]) + " }" * (levels - 1) + " }"


def test_an_ordinary_query_keeps_every_limit() -> None:
    # Given a board query with a fragment, an alias and a directive
    source = """
      query Board($id: ID!, $withLabels: Boolean!) {
        project(id: $id) { id tasks(first: 20) { nodes { ...T labels @include(if: $withLabels) { name } } } }
        me: user(id: 1) { id }
      }
      fragment T on Task { id title }
    """
    # When it is checked, then nothing is exceeded
    assert check(source) is None


def test_depth_over_the_limit_is_named_with_the_depth_found() -> None:
    # Given a query 13 fields deep, and one exactly at the limit of 12
    assert check(nested(12)) is None
    # When the deeper one is checked
    error = rejection(nested(13))
    # Then it is rejected with the depth found and the limit
    assert error.code == "DEPTH_LIMIT_EXCEEDED"
    assert error.message == "query depth 13 exceeds the limit of 12"


def test_typename_adds_no_depth_and_fragments_add_none_themselves() -> None:
    # Given 12 levels of fields through a spread and an inline fragment, with __typename at the bottom
    levels = "task(id: 1) { " + "parent { " * 11
    source = "{ ...Q } fragment Q on Query { ... on Query { " + levels + "__typename" + " }" * 12 + " } }"
    # Then the depth is 12, within the limit; one more real field goes over it
    assert check(source) is None
    deeper = source.replace("__typename", "id")
    error = rejection(deeper)
    assert error.message == "query depth 13 exceeds the limit of 12"


def test_depth_counts_through_fragments() -> None:
    # Given a fragment 3 deep spread at depth 10
    source = (
        "{ task(id: 1) { "
        + "parent { " * 9
        + "...F"
        + " }" * 10
        + " } fragment F on Task { parent { parent { id } } }"
    )
    # When it is checked
    error = rejection(source)
    # Then the depth is 10 + 3
    assert error.message == "query depth 13 exceeds the limit of 12"


def test_aliases_over_the_limit() -> None:
    # Given 31 aliased fields, and 30
    within = "{ user(id: 1) { " + " ".join(f"a{i}: id" for i in range(30)) + " } }"
    over = "{ user(id: 1) { " + " ".join(f"a{i}: id" for i in range(31)) + " } }"
    assert check(within) is None
    # When the 31 are checked
    error = rejection(over)
    # Then they are rejected with the count found
    assert error.code == "ALIAS_LIMIT_EXCEEDED"
    assert error.message == "alias count 31 exceeds the limit of 30"


def test_a_fragment_of_aliases_counts_at_every_spread() -> None:
    # Given a fragment of 20 aliases spread 5 times (each spread alone is within the limit)
    fragment = "fragment A on User { " + " ".join(f"a{i}: id" for i in range(20)) + " }"
    source = "{ " + " ".join(f"u{i}: user(id: 1) {{ ...A }}" for i in range(5)) + " } " + fragment
    # When it is checked
    error = rejection(source)
    # Then the aliases are counted at every spread: 5 * 20 plus the 5 root aliases
    assert error.message == "alias count 105 exceeds the limit of 30"


def test_a_fragment_bomb_is_rejected_without_expanding_it() -> None:
    # Given fragments that double at each of 40 levels (2**40 aliases if expanded)
    levels = 40
    fragments = " ".join(f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    source = f"{{ user(id: 1) {{ ...F0 }} }} {fragments} fragment F{levels} on User {{ a: id }}"
    # When it is checked, then it finishes and is rejected for its aliases
    error = rejection(source)
    assert error.code == "ALIAS_LIMIT_EXCEEDED"


def test_a_bomb_that_raises_no_limit_still_finishes() -> None:
    # Given doubling fragments with no aliases or directives, under one field (execution merges them)
    levels = 60
    fragments = " ".join(f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    source = f"{{ user(id: 1) {{ ...F0 }} }} {fragments} fragment F{levels} on User {{ id }}"
    # When it is checked, then it finishes, and keeps the limits
    assert check(source) is None


def test_a_fragment_cycle_does_not_recurse_forever() -> None:
    # Given fragments that spread each other (validation would reject it; the check must still end)
    source = "{ user(id: 1) { ...A } } fragment A on User { id ...B } fragment B on User { name ...A }"
    # Then the check ends, within the limits
    assert check(source) is None


def test_root_fields_over_the_limit_through_an_inline_fragment_and_a_spread() -> None:
    # Given 4 root fields, 4 more in an inline fragment and 3 in a spread fragment
    source = """
      { user(id: 1) { id } a: user(id: 1) { id } b: user(id: 1) { id } c: user(id: 1) { id }
        ... on Query {
          d: task(id: 1) { id } e: task(id: 2) { id } f: node(id: 3) { id } g: viewer { n: __typename } }
        ...R }
      fragment R on Query { h: task(id: 1) { id } i: task(id: 1) { id } j: task(id: 1) { id } }
    """
    # When it is checked
    error = rejection(source)
    # Then all 11 count as root fields
    assert error.code == "ROOT_FIELD_LIMIT_EXCEEDED"
    assert error.message == "root field count 11 exceeds the limit of 10"


def test_nested_fields_are_not_root_fields() -> None:
    # Given 1 root field with 15 fields under it
    source = "{ user(id: 1) { " + " ".join(f"f{i}: id" for i in range(15)) + " } }"
    # Then the root field limit holds
    assert check(source) is None


def test_directives_over_the_limit_through_fragments() -> None:
    # Given 4 directives in a fragment spread 5 times, and one on the operation
    source = """
      query Q($x: Boolean!) @skip(if: false) {
        a: user(id: 1) { ...D } b: user(id: 2) { ...D } c: user(id: 3) { ...D }
        d: user(id: 4) { ...D } e: user(id: 5) { ...D }
      }
      fragment D on User {
        id @include(if: $x) name @skip(if: $x) ... on User @include(if: $x) { email } ...E @skip(if: $x)
      }
      fragment E on User { id }
    """
    # When it is checked
    error = rejection(source)
    # Then every use is counted: 5 * 4 + 1
    assert error.code == "DIRECTIVE_LIMIT_EXCEEDED"
    assert error.message == "directive count 21 exceeds the limit of 20"


def test_only_the_chosen_operation_is_checked() -> None:
    # Given a document with a deep operation and a shallow one
    source = f"query Deep {nested(13)} query Shallow {{ user(id: 1) {{ id }} }}"
    # Then each is judged on its own
    assert check(source, operation_name="Shallow") is None
    error = rejection(source, operation_name="Deep")
    assert error.code == "DEPTH_LIMIT_EXCEEDED"


def test_the_error_is_a_domain_error_with_its_code() -> None:
    # Given an exceeded limit
    error = check(nested(13))
    # Then the error formatter reports its code and message as they are
    assert isinstance(error, LimitExceeded)
    assert (error.code, str(error)) == ("DEPTH_LIMIT_EXCEEDED", error.message)


def test_token_limit_errors_are_told_apart_from_other_parse_errors() -> None:
    # Given a document over a token limit, and one with a syntax error
    with pytest.raises(GraphQLSyntaxError) as over:
        parse("{ user(id: 1) { id name email } }", max_tokens=5)
    with pytest.raises(GraphQLSyntaxError) as broken:
        parse("{ user(id: 1) { id ", max_tokens=50)
    # Then only the first is a token limit error
    assert is_token_limit_error(over.value)
    assert not is_token_limit_error(broken.value)
    assert not is_token_limit_error(GraphQLError("Document contains many tokens"))
