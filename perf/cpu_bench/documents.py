"""The load mix's reads (perf/shared/load_mix.py), their shares of the read mix, and the requests sent:
each document by its trusted-document id, with variables as the virtual users pick them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson

from perf.shared.load_mix import OPERATIONS, PAGE_SIZES, SEARCH_TERMS, LoadOperation

# The seed's classes of the documents that only read (the others write or sign in).
READ_CLASSES = frozenset({"list", "read", "search"})


def read_operations() -> list[LoadOperation]:
    """The mix's reads, in the mix's order."""
    return [operation for operation in OPERATIONS.values() if operation.operation_class in READ_CLASSES]


def mix_shares() -> dict[str, float]:
    """Each read's share of the reads, by its weight in the load mix (they sum to 1)."""
    reads = read_operations()
    total = sum(operation.weight for operation in reads)
    return {operation.key: operation.weight / total for operation in reads}


@dataclass(frozen=True)
class Subjects:
    """What the reads name, as global ids: projects and tasks the viewer sees."""

    project_ids: list[str]
    task_ids: list[str]


def variables(operation: LoadOperation, subjects: Subjects, rng: random.Random) -> dict[str, Any]:
    """One request's variables, picked as perf/load/locustfile.py picks them."""
    first = PAGE_SIZES[operation.key]
    if operation.key == "list":
        return {"projectIds": [rng.choice(subjects.project_ids)], "first": first}
    if operation.key == "get":
        return {"taskId": rng.choice(subjects.task_ids), "first": first}
    if operation.key == "search":
        return {"query": rng.choice(SEARCH_TERMS), "first": first}
    raise ValueError(f"not a read of the mix: {operation.key}")


def bodies(operation: LoadOperation, subjects: Subjects, count: int, seed: int) -> list[bytes]:
    """``count`` request bodies; the same ``seed`` gives the same requests (each engine gets them)."""
    rng = random.Random(seed)
    return [
        orjson.dumps({"documentId": operation.document_id, "variables": variables(operation, subjects, rng)})
        for _ in range(count)
    ]
