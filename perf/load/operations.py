"""The load scenarios' operations: each a .graphql file under perf/operations, its seed class, its share
of the mix, and the trusted-document id the virtual users send instead of its text.

The mix follows the seed's Locust example (list 30 %, get 20 %, create 10 %) and fills the remaining
40 % with search 15 %, update 10 %, comment 10 % and login 5 %.

Locust imports the locustfile, and through it this module, with perf/load/ first on sys.path, where
this package's modules (report, operations, ...) would hide any namesake: it imports nothing of the
application (an import contract in pyproject.toml keeps it so). perf/load/documents.py registers the
documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OPERATIONS_DIR = Path(__file__).resolve().parents[1] / "operations"
CLIENT_NAME = "taskql-load"


@dataclass(frozen=True)
class LoadOperation:
    key: str  # the virtual user's task that sends it
    file: str  # relative to perf/operations
    name: str  # the operation's name in the document
    operation_class: str  # schema.guard.operation_class.OperationClass's value (a test checks they agree)
    weight: int  # percent of the mix (all weights sum to 100)

    @property
    def body(self) -> str:
        return (OPERATIONS_DIR / self.file).read_text()

    @property
    def document_id(self) -> str:
        return f"{CLIENT_NAME}/{self.name}"

    @property
    def request_name(self) -> str:
        """The name the report groups by: "<class>:<operation>"."""
        return f"{self.operation_class}:{self.name}"


OPERATIONS = {
    operation.key: operation
    for operation in (
        LoadOperation("list", "load/task_list.graphql", "TaskList", "list", 30),
        LoadOperation("get", "task_detail.graphql", "TaskDetail", "read", 20),
        LoadOperation("create", "load/task_create.graphql", "TaskCreate", "write", 10),
        LoadOperation("search", "search.graphql", "SearchTasks", "search", 15),
        LoadOperation("update", "load/task_update.graphql", "TaskUpdate", "write", 10),
        LoadOperation("comment", "load/comment_create.graphql", "CommentCreate", "write", 10),
        LoadOperation("login", "load/auth_login.graphql", "AuthLogin", "auth", 5),
    )
}
