"""The attack bench's documents: what is registered as trusted, and what the attackers send.

Trusted (registered at the start of every run, under ids named after their files): the read
operations of ``perf/operations`` that the normal load runs, plus ``perf/attack/operations``: the
login form's mutation and an overview whose cost is the product of two page sizes (a legitimate
document that a client can make as expensive as it likes through its variables).

Sent by the attackers, each carrying a nonce so that no two texts or variable sets are the same
(an attacker who wants to cost the server something defeats its parse and cost caches):

- ``alias_bomb`` and ``depth_bomb``: aliases and depth multiplied through fragment spreads, over
  the default limits (30 aliases, depth 12) only once the spreads are counted;
- ``max_admitted_variables`` and ``over_limit_variables``: the overview at the largest cost the
  per-operation limit admits, and far over it;
- ``free_text``: a small harmless query that is simply not a trusted document.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from graphql import GraphQLSchema, parse

from persistence.settings import Settings
from resolvers.trusted_documents import ManifestOperation
from schema.guard.cost import CostModel, operation_cost

ATTACK = Path(__file__).resolve().parent
NORMAL_OPERATIONS = ATTACK.parent / "operations"
ATTACK_OPERATIONS = ATTACK / "operations"
CLIENT_NAME = "bench-web"
LOGIN = "login"
OVERVIEW = "projects_tasks"
# The overview's outer page: the inner one is then as large as the limit admits.
OVERVIEW_PROJECTS = 5
ALIASES_PER_FRAGMENT = 20
ALIAS_SPREADS = 5  # 100 aliases counted through the spreads, against a limit of 30
DEPTH_FRAGMENTS = 14  # 15 levels with the root field, against a limit of 12


def manifest() -> list[ManifestOperation]:
    """Every document the bench's client ships, by file name (``board``, ``login``, ...)."""
    files = sorted(NORMAL_OPERATIONS.glob("*.graphql")) + sorted(ATTACK_OPERATIONS.glob("*.graphql"))
    return [ManifestOperation(path.stem, path.read_text()) for path in files]


def requested_cost(
    schema: GraphQLSchema, settings: Settings, document_id: str, variables: Mapping[str, object]
) -> int:
    """What the server charges up front for a registered document with these variables."""
    model = CostModel(max_page_size=settings.max_page_size, default_page_size=settings.default_page_size)
    body = next(operation.body for operation in manifest() if operation.document_id == document_id)
    return operation_cost(schema, parse(body), None, dict(variables), model)


def max_admitted_variables(schema: GraphQLSchema, settings: Settings) -> tuple[dict[str, int], int]:
    """The overview's variables at the highest cost the per-operation limit admits, and that cost:
    found with the server's own cost model, so it follows any change to the model."""
    best: tuple[dict[str, int], int] | None = None
    for tasks in range(1, settings.max_page_size + 1):
        variables = {"projects": OVERVIEW_PROJECTS, "tasks": tasks}
        cost = requested_cost(schema, settings, OVERVIEW, variables)
        if cost > settings.cost_limit_per_operation:
            break
        best = (variables, cost)
    if best is None:
        raise ValueError(f"the overview costs over {settings.cost_limit_per_operation} at any page size")
    return best


def over_limit_variables(rng: random.Random, max_page_size: int) -> dict[str, int]:
    """Page sizes whose product is far over any per-operation limit; new ones on each call, so the
    server's cost cache (keyed by the variables) never answers for it."""
    return {"projects": rng.randint(20, max_page_size), "tasks": rng.randint(50, max_page_size)}


def alias_bomb(nonce: int) -> str:
    """A few aliases in a fragment, the fragment spread several times: harmless-looking text whose
    alias count is only over the limit once every spread is counted."""
    aliases = " ".join(f"a{i}: user {{ id }}" for i in range(ALIASES_PER_FRAGMENT))
    spreads = " ".join(["...Many"] * ALIAS_SPREADS)
    return (
        f"query Aliases {{ viewer {{ n{nonce}: __typename {spreads} }} }}\n"
        f"fragment Many on Viewer {{ {aliases} }}"
    )


def depth_bomb(nonce: int) -> str:
    """Subtasks nested through a chain of fragments, each one level deep on its own."""
    fragments = [
        f"fragment D{level} on Task {{ subtasks {{ ...D{level + 1} }} }}"
        for level in range(1, DEPTH_FRAGMENTS)
    ]
    fragments.append(f"fragment D{DEPTH_FRAGMENTS} on Task {{ id }}")
    root = f'query Deep {{ n{nonce}: __typename task(id: "VGFzazox") {{ ...D1 }} }}'
    return "\n".join([root, *fragments])


def free_text(nonce: int) -> str:
    return f"query Mine {{ n{nonce}: __typename viewer {{ user {{ id name }} }} }}"
