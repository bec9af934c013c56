"""One observation per GraphQL request over HTTP: its class (schema/guard/operation_class.py), its operation
label, latency, requested cost, SQL statements and outcome (ok, error, refused), recorded once for
Prometheus and for live ops' window (persistence/ops_window.py).

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
from persistence.ops_window import UNCLASSIFIED, record_request
from persistence.statements import StatementCounter
from resolvers.trusted_documents import TrustedDocument
from schema.core.errors import failed_unexpectedly
from schema.core.request import RequestError
from schema.guard.operation_class import classify

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
    document: DocumentNode, operation: OperationDefinitionNode, trusted: TrustedDocument | None
) -> None:
    """The request's operation, once the view knows it: its class and its label."""
    observation = _current.get()
    if observation is None:
        return
    observation.operation_class = classify(observation.schema, document, operation).value
    name = operation.name.value if operation.name else None
    observation.operation = LABELS.label(name, trusted)


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


def _failed(error: BaseException | None, payload: dict[str, Any] | None) -> bool:
    """What live ops counts as failed: a 5xx, an unexpected exception, or a bug in the answer (a
    client's mistake is not)."""
    if isinstance(error, RequestError):
        return error.status >= 500
    return error is not None or payload is None or failed_unexpectedly(payload)


def _record(observation: Observation, error: BaseException | None) -> None:
    seconds = time.perf_counter() - observation.started
    operation_class = observation.operation_class
    # Live ops (persistence/ops_window.py) counts every request, one that never named an operation too.
    record_request(operation_class or UNCLASSIFIED, seconds, _failed(error, observation.payload))
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
    GRAPHQL_DURATION.labels(operation_class, label).observe(seconds)
    GRAPHQL_OPERATIONS.labels(operation_class, label, outcome).inc()
    GRAPHQL_STATEMENTS.labels(operation_class).observe(observation.statements.count)
    requested = _requested_cost(payload)
    if requested is not None:
        GRAPHQL_COST.labels(operation_class).observe(requested)
