"""What the query asks of a field, through fragments: decides joins and counts before the SQL runs."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def flatten(selections: Iterable[Selection]) -> list[SelectedField]:
    """The fields of a selection set with fragment spreads and inline fragments opened up."""
    fields: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            fields.append(selection)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            fields.extend(flatten(selection.selections))
    return fields


def child_names(selections: Iterable[Selection]) -> set[str]:
    """The names selected below the given field(s)."""
    return {child.name for field in flatten(selections) for child in flatten(field.selections)}


def children(fields: Iterable[SelectedField], name: str) -> list[SelectedField]:
    return [child for field in fields for child in flatten(field.selections) if child.name == name]


class ConnectionSelection:
    """The field names asked of a connection's nodes (via `nodes` or `edges.node`) and its own fields."""

    def __init__(self, selections: Iterable[Selection]) -> None:
        fields = flatten(selections)
        self.own = child_names(fields)
        self.node_fields = children(fields, "nodes") + children(children(fields, "edges"), "node")
        self.node_names = child_names(self.node_fields)

    @property
    def wants_total(self) -> bool:
        return "totalCount" in self.own
