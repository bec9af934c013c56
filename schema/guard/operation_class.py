"""The seed's operation classes (auth, read, write, list, search, upload), by an operation's root
fields: the class an operation's latency is measured and flagged against (its row of the seed's table).

- auth: signing in and out, refreshing, password resets and accepting an invitation;
- upload: `attachmentUpload`; write: any other mutation;
- search: a query with `searchTasks`; list: a query with a root connection (`tasks`, `projects`,
  `users`); read: any other query (by id, `viewer`, `node`).
"""

from __future__ import annotations

from enum import StrEnum

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)


class OperationClass(StrEnum):
    AUTH = "auth"
    READ = "read"
    WRITE = "write"
    LIST = "list"
    SEARCH = "search"
    UPLOAD = "upload"


AUTH_FIELDS = frozenset(
    {
        "authLogin",
        "authRefresh",
        "authLogout",
        "passwordResetRequest",
        "passwordResetConfirm",
        "invitationAccept",
    }
)
UPLOAD_FIELDS = frozenset({"attachmentUpload"})
SEARCH_FIELDS = frozenset({"searchTasks"})


def root_field_names(document: DocumentNode, operation: OperationDefinitionNode) -> set[str]:
    """The operation's root fields, through inline fragments and fragment spreads."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names: set[str] = set()
    seen: set[str] = set()

    def collect(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                collect(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    collect(fragment.selection_set)

    collect(operation.selection_set)
    return names


def classify(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> OperationClass:
    names = root_field_names(document, operation)
    if operation.operation is OperationType.MUTATION:
        if names & AUTH_FIELDS:
            return OperationClass.AUTH
        return OperationClass.UPLOAD if names & UPLOAD_FIELDS else OperationClass.WRITE
    if names & SEARCH_FIELDS:
        return OperationClass.SEARCH
    root = schema.query_type
    fields = root.fields if root is not None else {}
    if any(get_named_type(fields[n].type).name.endswith("Connection") for n in names if n in fields):
        return OperationClass.LIST
    return OperationClass.READ
