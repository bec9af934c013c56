"""Which GraphQL fields the compiler covers: the domain packages' registries, by type name."""

from __future__ import annotations

from persistence.compiled.spec import RootSpec, TypeSpec
from schema.projects.compiled import LABEL, PROJECT
from schema.tasks.compiled import ROOTS, TASK, TASK_CONNECTION
from schema.users.compiled import USER

TYPES: dict[str, TypeSpec] = {
    "Task": TASK,
    "TaskConnection": TASK_CONNECTION,
    "Project": PROJECT,
    "Label": LABEL,
    "User": USER,
}

QUERY_ROOTS: dict[str, RootSpec] = ROOTS
