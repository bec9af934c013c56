"""The estimated and the actual cost of an operation (schema/guard/cost.py), including the cases that the
pinned graphql-complexity 1.0.0 gets wrong or crashes on against graphql-core 3.3."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLSchema, execute_sync, parse
from graphql import build_schema as build_sdl_schema
from graphql_complexity import DirectivesEstimator

from schema.build import build_schema
from schema.guard.cost import CostModel, actual_cost, operation_cost

MODEL = CostModel()
SCHEMA = build_schema()._schema

# A small schema of our own for what taskql's schema has no example of (a paged list returned as a
# bare list) and for running queries to compare the estimate with the answer.
SDL = """
directive @note(text: String) on FIELD_DEFINITION

type Item { id: ID! name: String @note(text: "a name") tags: [Tag!]! children(first: Int): [Item!]! }
type Tag { id: ID! }
type Query {
  items(first: Int): [Item!]!
  maybeItems(first: Int): [Item]
  everything: [Item]
  item: Item
}
type Mutation { itemCreate(name: String!): Item! }
"""
SMALL = build_sdl_schema(SDL)


def cost(
    source: str,
    variables: dict[str, Any] | None = None,
    *,
    schema: GraphQLSchema = SCHEMA,
    operation_name: str | None = None,
    pages_at_cap: bool = False,
) -> int:
    return operation_cost(schema, parse(source), operation_name, variables, MODEL, pages_at_cap=pages_at_cap)


NESTED = """
  query Nested($projects: Int, $tasks: Int) {
    projects(first: $projects) { edges { node { tasks(first: $tasks) { edges { node { id title } } } } } }
  }
"""


def test_nested_connections_multiply_by_their_page_sizes_from_variables() -> None:
    # Given 10 projects with 50 tasks each
    # When the cost is estimated
    found = cost(NESTED, {"projects": 10, "tasks": 50})
    # Then each task costs per project: projects + 10 * (edge + node + tasks + 50 * (edge + node))
    assert found == 1 + 10 * (1 + 1 + 1 + 50 * 2)
    # And other page sizes give other costs (the cache is keyed by them)
    assert cost(NESTED, {"projects": 2, "tasks": 5}) == 1 + 2 * (3 + 5 * 2)


def test_a_literal_page_size_counts_and_is_capped_at_the_maximum() -> None:
    # Given literal page sizes, one over the maximum of 100
    # Then the literal counts, and the large one counts as 100
    assert cost("{ tasks(first: 7) { nodes { id } } }") == 1 + 7 * 1
    assert cost("{ tasks(last: 7) { nodes { id } } }") == 1 + 7 * 1
    assert cost("{ tasks(first: 1000) { nodes { id } } }") == 1 + 100 * 1


def test_a_variable_without_default_or_value_is_the_default_page_size() -> None:
    # Given a page size variable with no default that the request leaves out (the library crashed here)
    source = "query Q($n: Int) { tasks(first: $n) { nodes { id } } }"
    # Then the connection counts the default page size of 20
    assert cost(source) == 1 + 20 * 1
    assert cost(source, {"n": None}) == 1 + 20 * 1
    # And a variable's default counts when the request leaves it out
    assert cost("query Q($n: Int = 3) { tasks(first: $n) { nodes { id } } }") == 1 + 3 * 1
    # And an omitted page argument is the default page size too
    assert cost("{ tasks { nodes { id } } }") == 1 + 20 * 1


def test_non_null_lists_are_multiplied() -> None:
    # Given a paged field of type [Item!]! (the library multiplied only bare lists)
    found = cost("{ items(first: 10) { id children(first: 2) { id } } }", schema=SMALL)
    # Then each of the 10 items costs, and each of their 2 children
    assert found == 10 + 10 * (2 + 2 * 0)
    # And it costs what the nullable [Item] costs
    assert found == cost("{ maybeItems(first: 10) { id children(first: 2) { id } } }", schema=SMALL)
    # And a connection's nodes, of type [Task!]!, cost once per item of its page
    assert cost("{ tasks(first: 50) { nodes { id } } }") == 1 + 50 * 1


def test_a_list_without_page_arguments_counts_once_per_enclosing_item() -> None:
    # Given unpaged lists (the library crashed on a list field without arguments)
    # Then each costs once
    assert cost("{ everything { id tags { id } } }", schema=SMALL) == 1 + 1
    assert cost("{ task(id: 1) { labels { id } subtasks { id } } }") == 1 + 1 + 1
    # And once per item of an enclosing connection
    assert cost("{ tasks(first: 4) { nodes { labels { id } } } }") == 1 + 4 * (1 + 1)


def test_mutations_cost_more_than_reads() -> None:
    # Given a mutation and a read that select the same
    read = cost("query { task(id: 1) { id title } }")
    write = cost("mutation M($input: TaskCreateInput!) { taskCreate(input: $input) { task { id title } } }")
    # Then the mutation costs the mutation cost on top of its payload
    assert read == 1
    assert write == 10 + 1 + 1
    # And every root mutation field is charged
    assert (
        cost('mutation { a: itemCreate(name: "a") { id } b: itemCreate(name: "b") { id } }', schema=SMALL)
        == 22
    )


def test_pages_at_cap_takes_every_page_at_the_maximum_whatever_the_variables() -> None:
    # Given the nested query with small pages
    variables = {"projects": 2, "tasks": 3}
    # When its cost is asked as an upper bound
    found = cost(NESTED, variables, pages_at_cap=True)
    # Then every page counts 100
    assert found == 1 + 100 * (3 + 100 * 2)
    assert found > cost(NESTED, variables)


def test_fragments_and_inline_fragments_cost_what_the_same_fields_cost_inline() -> None:
    # Given one selection written inline, and through a spread used twice and an inline fragment
    page = "nodes { id assignee { id } }"
    inline = f"{{ a: tasks(first: 5) {{ {page} }} b: tasks(first: 5) {{ {page} }} }}"
    spread = """
      { a: tasks(first: 5) { ...Page } b: tasks(first: 5) { ... on TaskConnection { ...Page } } }
      fragment Page on TaskConnection { nodes { ...Person } }
      fragment Person on Task { id ... on Task { assignee { id } } }
    """
    # Then both cost the same, the fragment counted at each spread
    assert cost(spread) == cost(inline) == 2 * (1 + 5 * 2)


def test_a_fragment_bomb_finishes_and_a_cycle_counts_nothing() -> None:
    # Given fragments that double at each of 40 levels (expanding them would never end)
    levels = 40
    fragments = " ".join(f"fragment F{i} on Task {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    bomb = f"{{ task(id: 1) {{ ...F0 }} }} {fragments} fragment F{levels} on Task {{ assignee {{ id }} }}"
    # Then the estimate finishes, counting the fragment at every spread
    assert cost(bomb) == 1 + 2**levels
    # And fragments that spread each other (invalid) count nothing instead of recursing forever
    cycle = "{ task(id: 1) { ...A } } fragment A on Task { parent { id } ...B } fragment B on Task { ...A }"
    assert cost(cycle) == 1 + 1


def test_skip_and_include_drop_just_their_selection() -> None:
    # Given conditions on an inline fragment, a spread and a field (the library dropped the parent field)
    source = """
      query Q($off: Boolean!, $on: Boolean = true) {
        task(id: 1) {
          assignee @include(if: $on) { id }
          ... on Task @include(if: $off) { reporter { id } }
          ...P @skip(if: true)
          parent @skip(if: $off) { id }
        }
      }
      fragment P on Task { project { id } }
    """
    # Then only what is certainly skipped costs nothing
    assert cost(source, {"off": False}) == 1 + 1 + 1
    # And with the conditions turned round, the other selections cost
    assert cost(source, {"off": True, "on": False}) == 1 + 1
    # And an unknown condition counts as included
    assert cost(source) == 1 + 1 + 1 + 1


def test_only_the_chosen_operation_costs() -> None:
    # Given a document with two operations
    source = "query Small { task(id: 1) { id } } query Big { tasks(first: 100) { nodes { id } } }"
    # Then each costs its own
    assert cost(source, operation_name="Small") == 1
    assert cost(source, operation_name="Big") == 101
    assert cost(source, operation_name="Missing") == 0


def test_typename_and_scalars_are_free_by_default() -> None:
    # Given an object with scalars and __typename
    # Then only the object costs
    assert cost("{ __typename task(id: 1) { __typename id title } }") == 1


def test_a_schema_with_field_directives_is_estimated() -> None:
    # Given a schema whose SDL has directives, which the library's DirectivesEstimator crashes on
    with pytest.raises(TypeError):
        DirectivesEstimator(SDL)
    # Then our estimator, which needs no directive, estimates it
    assert cost("{ item { name } }", schema=SMALL) == 1


def test_the_cache_keeps_apart_what_the_variables_tell_apart() -> None:
    # Given a query whose cost depends on a variable
    source = "query Q($n: Int, $other: String) { tasks(first: $n) { nodes { id } } }"
    # When it is costed again with other page sizes, or values Python finds equal but GraphQL does not
    # Then each answer is its own
    assert cost(source, {"n": 1}) == 2
    assert cost(source, {"n": True}) == 21
    assert cost(source, {"n": 1.0}) == 2
    assert cost(source, {"n": 1, "other": "x"}) == 2
    assert cost(source, {"n": 2}) == 3
    # And a value that cannot be hashed is costed, not cached
    assert cost(source, {"n": [5]}) == 21
    # And a document without locations (nothing to key by) is costed as well
    document = parse(source, no_location=True)
    assert operation_cost(SCHEMA, document, None, {"n": 4}, MODEL) == 5


# Resolvers of the small schema: plain data, as graphql-core's default resolver reads it.
def _item(number: int, tags: int = 2) -> dict[str, Any]:
    return {
        "id": str(number),
        "name": f"item {number}",
        "tags": [{"id": f"{number}.{t}"} for t in range(tags)],
    }


def _run(source: str, root: dict[str, Any], variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = execute_sync(SMALL, parse(source), root_value=root, variable_values=variables)
    assert result.errors is None
    assert result.data is not None
    return result.data


def test_actual_cost_counts_the_objects_answered_and_stays_under_the_estimate() -> None:
    # Given a paged query that asks for up to 10 items with their tags
    source = "query Q($n: Int) { items(first: $n) { id name tags { id } } item { id } }"
    variables = {"n": 10}
    # When it runs and finds 3 items of 2 tags each
    data = _run(source, {"items": [_item(i) for i in range(3)], "item": _item(9)}, variables)
    # Then the actual cost counts every object: 3 items, 6 tags and the single item
    found = actual_cost(data, is_mutation_fields=0, model=MODEL)
    assert found == 3 + 6 + 1
    # And it is at most what was estimated
    assert found <= cost(source, variables, schema=SMALL) == 10 + 10 * 1 + 1


def test_actual_cost_of_a_mutation_counts_its_mutation_fields() -> None:
    # Given a mutation that answered one object
    source = 'mutation { itemCreate(name: "x") { id } }'
    data = _run(source, {"itemCreate": _item(1)})
    # Then the actual cost is the mutation's charge plus the object, as estimated
    assert actual_cost(data, is_mutation_fields=1, model=MODEL) == 10 + 1
    assert cost(source, schema=SMALL) == 10 + 1


def test_actual_cost_of_no_data_is_nothing() -> None:
    # Given a request that failed before execution, or objects that were null
    assert actual_cost(None, is_mutation_fields=0, model=MODEL) == 0
    assert actual_cost({"item": None, "items": []}, is_mutation_fields=0, model=MODEL) == 0
    # And scalars count their scalar cost when one is set
    priced = CostModel(scalar_cost=1)
    assert actual_cost({"item": {"id": "1", "name": None}}, is_mutation_fields=0, model=priced) == 2
