"""The attack bench sends what it says it sends: documents that validate, whose limits or cost the
server's own checks refuse (or, for the costly one, just admit), and a manifest the registry takes."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from graphql import GraphQLSchema, get_operation_ast, parse, specified_rules, validate

from perf.attack import documents
from persistence.settings import Settings
from schema.build import build_schema
from schema.guard.limits import check_limits
from schema.guard.protection import query_limits
from schema.guard.registration import preparer


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(environment="test")


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (documents.alias_bomb, "ALIAS_LIMIT_EXCEEDED"),
        (documents.depth_bomb, "DEPTH_LIMIT_EXCEEDED"),
    ],
)
def test_each_bomb_validates_and_exceeds_its_limit_only_through_its_spreads(
    build: Callable[[int], str], code: str, schema: GraphQLSchema, settings: Settings
) -> None:
    # Given a bomb as an attacker sends it
    document = parse(build(7))
    operation = get_operation_ast(document)
    assert operation is not None
    # When the server validates it and checks the default limits
    errors = validate(schema, document, specified_rules)
    exceeded = check_limits(document, operation, query_limits(settings))
    # Then it is valid GraphQL, refused by the limit it aims at
    assert errors == []
    assert exceeded is not None
    assert exceeded.code == code


def test_bombs_and_free_text_differ_with_each_nonce() -> None:
    # Given two nonces, when each attack text is built, then no two are the same (no cache answers)
    for build in (documents.alias_bomb, documents.depth_bomb, documents.free_text):
        assert build(1) != build(2)


def test_the_costly_variables_are_the_largest_the_limit_admits(
    schema: GraphQLSchema, settings: Settings
) -> None:
    # Given the overview's variables the expensive attacker uses
    variables, cost = documents.max_admitted_variables(schema, settings)
    # When one more task per project is asked for
    more = {**variables, "tasks": variables["tasks"] + 1}
    # Then the chosen ones are within the limit, close to it, and one more is over it
    assert cost == documents.requested_cost(schema, settings, documents.OVERVIEW, variables)
    assert settings.cost_limit_per_operation * 0.9 < cost <= settings.cost_limit_per_operation
    over = documents.requested_cost(schema, settings, documents.OVERVIEW, more)
    assert over > settings.cost_limit_per_operation


def test_over_limit_variables_are_always_over_the_limit(schema: GraphQLSchema, settings: Settings) -> None:
    # Given a run's random page sizes, when each is priced, then every one is refused by the limit
    rng = random.Random(3)  # noqa: S311 - page sizes, not secrets
    for _ in range(50):
        variables = documents.over_limit_variables(rng, settings.max_page_size)
        cost = documents.requested_cost(schema, settings, documents.OVERVIEW, variables)
        assert cost > settings.cost_limit_per_operation


def test_the_manifest_registers_as_trusted_documents(schema: GraphQLSchema, settings: Settings) -> None:
    # Given the bench's manifest, when each document is prepared as registration prepares it
    prepare = preparer(schema, settings)
    prepared = {op.document_id: prepare(op.body) for op in documents.manifest()}
    # Then every one registers, the login as a mutation and the normal load's reads as queries
    assert prepared[documents.LOGIN].operation_type == "mutation"
    assert {"board", "task_detail", "dashboard", "notifications", "user_page"} <= set(prepared)
    assert all(p.operation_type == "query" for i, p in prepared.items() if i != documents.LOGIN)
