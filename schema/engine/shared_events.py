"""One execution per event for the subscribers that would get the same bytes.

Every subscriber of a project in this process hears the same relay message. Executing each one's
selection on its own costs the same work once per subscriber: a thousand subscribers, a thousand
executions and serializations of one event. When a subscription's selection reads only fields whose
value does not depend on who asks (``SHARED_FIELDS``, declared beside the types), subscribers with the
same document and variables get the same bytes: the first of them executes the selection and
serializes its data, the others send those bytes. A selection with any other field (the viewer's role
in the project, a person's other projects or tasks) runs for each subscriber on its own.

What this shares is only the answer, never the decision: each subscriber's token, session and sight of
the project are checked for the event before it reaches here (resolvers/subscriptions.py), so a
subscriber whose access ended still gets NOT_FOUND, and never another's answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Protocol, TypeVar

import orjson
from graphql import DocumentNode, FieldNode, GraphQLSchema, Visitor, visit
from graphql.utilities import TypeInfo, TypeInfoVisitor

from schema.engine.operation import Operation

T = TypeVar("T")
# Answers kept per process: one per distinct subscription document, so a few in practice.
MAX_REMEMBERED_DOCUMENTS = 1000


class EventMemo(Protocol):
    """What the subscribers of one event in this process share (resolvers/event_reads.py)."""

    async def once(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T: ...


class _FieldCheck(Visitor):
    def __init__(self, type_info: TypeInfo, shared_fields: Mapping[str, frozenset[str]]) -> None:
        super().__init__()
        self.type_info = type_info
        self.shared_fields = shared_fields
        self.shared = True

    def enter_field(self, node: FieldNode, *_: object) -> None:
        name = node.name.value
        parent = self.type_info.get_parent_type()
        if name == "__typename":
            return
        if parent is None or name not in self.shared_fields.get(parent.name, frozenset()):
            self.shared = False


def reads_only_shared_fields(
    schema: GraphQLSchema, document: DocumentNode, shared_fields: Mapping[str, frozenset[str]]
) -> bool:
    """Whether every field the document names (in every operation and fragment, skipped or not, so
    no variable can change the answer) is one whose value is the same for every subscriber."""
    type_info = TypeInfo(schema)
    check = _FieldCheck(type_info, shared_fields)
    visit(document, TypeInfoVisitor(type_info, check))
    return check.shared


class SharedAnswers:
    """Decides, once per subscription document, whether its events' answers may be shared."""

    def __init__(self, schema: GraphQLSchema, shared_fields: Mapping[str, frozenset[str]]) -> None:
        self.schema = schema
        self.shared_fields = shared_fields
        self._decisions: dict[str, bool] = {}

    def key(self, operation: Operation) -> Hashable | None:
        """What subscribers with the same answer have in common; None: each executes its own."""
        source = operation.document.loc.source.body if operation.document.loc else None
        if source is None:
            return None
        shared = self._decisions.get(source)
        if shared is None:
            shared = reads_only_shared_fields(self.schema, operation.document, self.shared_fields)
            if len(self._decisions) >= MAX_REMEMBERED_DOCUMENTS:
                self._decisions.clear()
            self._decisions[source] = shared
        if not shared:
            return None
        variables = orjson.dumps(operation.variables or {}, option=orjson.OPT_SORT_KEYS)
        return ("answer", source, operation.name, variables)
