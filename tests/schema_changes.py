"""The live schema against the last released one (schema/released.graphql): which changes break
clients, which may, and whether CHANGELOG.md's Unreleased section names each breaking one.

A change is named when its subject (the schema coordinate graphql-core's description starts from:
`Mutation.webhookUpdate`, `Task.labels(first:)`, `TaskStatus.DONE`, `Comment`) appears in backticks
in the Unreleased section.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    BreakingChange,
    DangerousChange,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)

ROOT = Path(__file__).resolve().parents[1]
RELEASED_SCHEMA = ROOT / "schema" / "released.graphql"
CHANGELOG = ROOT / "CHANGELOG.md"

_DOTTED = re.compile(r"@?[A-Za-z_]\w*\.\w+(?:\(\w+:\))?")
_DIRECTIVE = re.compile(r"@\w+(?:\(\w+:\))?")
_WORD = re.compile(r"[A-Za-z_]\w*")
_BACKTICKED = re.compile(r"`([^`]+)`")
# A release heading: "## [1.2.0] - 2026-12-07"; the Unreleased one: "## [Unreleased]".
_HEADING = re.compile(r"^## \[([^\]]+)\]", re.MULTILINE)
_RELEASED_DIGEST = re.compile(r"schema/released\.graphql`\s+sha256\s+`([0-9a-f]{64})`")


def subject(description: str) -> str:
    """The schema coordinate a change's description is about (its first dotted name, else its first
    directive, else its first word: a type's name)."""
    for pattern in (_DOTTED, _DIRECTIVE, _WORD):
        found = pattern.search(description)
        if found:
            return found.group(0)
    return description


def sections(changelog: str) -> dict[str, str]:
    """Each `## [name]` section's text, by name, in the file's order."""
    headings = list(_HEADING.finditer(changelog))
    found: dict[str, str] = {}
    for index, heading in enumerate(headings):
        end = headings[index + 1].start() if index + 1 < len(headings) else len(changelog)
        found[heading.group(1)] = changelog[heading.end() : end]
    return found


def named_in(text: str) -> set[str]:
    """The backticked names of a changelog section."""
    return set(_BACKTICKED.findall(text))


@dataclass(frozen=True)
class Comparison:
    breaking: list[BreakingChange]
    dangerous: list[DangerousChange]
    # The breaking changes the Unreleased section does not name.
    unannounced: list[BreakingChange]

    def report(self) -> str:
        lines = [f"breaking (unannounced): {c.type.name}: {c.description}" for c in self.unannounced]
        lines += [f"dangerous: {c.type.name}: {c.description}" for c in self.dangerous]
        return "\n".join(lines)


def compare(released: GraphQLSchema, live: GraphQLSchema, unreleased_notes: str) -> Comparison:
    breaking = find_breaking_changes(released, live)
    dangerous = find_dangerous_changes(released, live)
    announced = named_in(unreleased_notes)
    unannounced = [c for c in breaking if subject(c.description) not in announced]
    return Comparison(breaking, dangerous, unannounced)


def released_schema() -> GraphQLSchema:
    return build_schema(RELEASED_SCHEMA.read_text())


def released_digest() -> str:
    return hashlib.sha256(RELEASED_SCHEMA.read_bytes()).hexdigest()


def recorded_digest(release_notes: str) -> str | None:
    """The released schema's sha256 a release entry records."""
    found = _RELEASED_DIGEST.search(release_notes)
    return None if found is None else found.group(1)


class DangerousSchemaChange(UserWarning):
    """A change that may alter what a client sees (an enum value or an optional argument added):
    listed in the test run's warnings summary, never a failure."""


def deprecated_coordinates(schema: GraphQLSchema) -> set[str]:
    """Every field, argument, input field and enum value the schema marks @deprecated."""
    found: set[str] = set()
    for type_name, named in schema.type_map.items():
        if type_name.startswith("__"):
            continue
        for field_name, field in (getattr(named, "fields", None) or {}).items():
            if getattr(field, "deprecation_reason", None):
                found.add(f"{type_name}.{field_name}")
            for arg_name, argument in (getattr(field, "args", None) or {}).items():
                if argument.deprecation_reason:
                    found.add(f"{type_name}.{field_name}({arg_name}:)")
        for value_name, value in (getattr(named, "values", None) or {}).items():
            if value.deprecation_reason:
                found.add(f"{type_name}.{value_name}")
    return found
