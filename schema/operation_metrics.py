"""One observation per GraphQL request over HTTP: its class (schema/operation_class.py), its operation
label, latency, requested cost, SQL statements and outcome (ok, error, refused).

The label is the trusted document's id when the request ran one, else the operation's name, else
``anonymous``; never the document's text. Names a client makes up are bounded: one that is not a
plain identifier of at most 64 characters is ``invalid``, and past ``MAX_LABELS`` distinct names per
process every new one is ``other``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode

from persistence.metrics import GRAPHQL_COST, GRAPHQL_DURATION, GRAPHQL_OPERATIONS, GRAPHQL_STATEMENTS
from persistence.statements import StatementCounter
from resolvers.trusted_documents import TrustedDocument
from schema.operation_class import OperationClass, classify
from schema.transport import RequestError

MAX_LABELS = 500
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass
class OperationLabels:
    """The labels this process has handed out; the first ``limit`` distinct ones are kept."""

    limit: int = MAX_LABELS
    seen: set[str] = field(default_factory=set)

    def label(self, name: str | None, trusted: TrustedDocument | None) -> str:
        if trusted is not None:
            wanted = trusted.document_id  # the registry bounds these
        elif name is None:
            return "anonymous"
        elif not _NAME.fullmatch(name):
            return "invalid"
        else:
            wanted = name
        if wanted in self.seen:
            return wanted
        if len(self.seen) >= self.limit:
            return "other"
        self.seen.add(wanted)
        return wanted


LABELS = OperationLabels()


@dataclass
class Observation:
    schema: GraphQLSchema
    statements: StatementCounter
    started: float = field(default_factory=time.perf_counter)
    operation_class: str | None = None
    operation: str = "anonymous"
    payload: dict[str, Any] | None = None


_current: ContextVar[Observation | None] = ContextVar("taskql_operation_observation", default=None)


def note_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    trusted: TrustedDocument | None,
) -> OperationClass:
    """The request's operation, once the view knows it (a request that never names one is observed by
    its HTTP metrics only); its class, which live ops (persistence/ops_window.py) records too."""
    operation_class = classify(schema, document, operation)
    observation = _current.get()
    if observation is not None:
        observation.operation_class = operation_class.value
        name = operation.name.value if operation.name else None
        observation.operation = LABELS.label(name, trusted)
    return operation_class


@contextmanager
def observe_operation(schema: GraphQLSchema, statements: StatementCounter) -> Iterator[Observation]:
    """Around the request: records the observation as it ends, whether answered or raised."""
    observation = Observation(schema, statements)
    token = _current.set(observation)
    error: BaseException | None = None
    try:
        yield observation
    except BaseException as raised:
        error = raised
        raise
    finally:
        _current.reset(token)
        _record(observation, error)


def _requested_cost(payload: dict[str, Any] | None) -> int | None:
    cost = (payload or {}).get("extensions", {}).get("cost")
    requested = cost.get("requested") if isinstance(cost, dict) else None
    return requested if isinstance(requested, int) else None


def _record(observation: Observation, error: BaseException | None) -> None:
    operation_class = observation.operation_class
    if operation_class is None:
        return
    payload = observation.payload
    if isinstance(error, RequestError):
        outcome = "refused" if error.status < 500 else "error"
        payload = {"extensions": error.response_extensions or {}}
    elif error is not None or payload is None:
        outcome = "error"
    elif "data" not in payload:
        outcome = "refused"  # the variables did not coerce: nothing ran
    else:
        outcome = "error" if payload.get("errors") else "ok"
    label = observation.operation
    GRAPHQL_DURATION.labels(operation_class, label).observe(time.perf_counter() - observation.started)
    GRAPHQL_OPERATIONS.labels(operation_class, label, outcome).inc()
    GRAPHQL_STATEMENTS.labels(operation_class).observe(observation.statements.count)
    requested = _requested_cost(payload)
    if requested is not None:
        GRAPHQL_COST.labels(operation_class).observe(requested)
