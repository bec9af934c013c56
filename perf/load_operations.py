"""The load scenarios' operations: each a .graphql file under perf/operations, its seed class, its share
of the mix, and the trusted-document id the virtual users send instead of its text.

The mix follows the seed's Locust example (list 30 %, get 20 %, create 10 %) and fills the remaining
40 % with search 15 %, update 10 %, comment 10 % and login 5 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from persistence.db import Database
from persistence.settings import Settings
from resolvers.trusted_documents import ManifestOperation, RegisterResult, register_documents
from schema.build import build_schema
from schema.operation_class import OperationClass
from schema.registration import preparer

OPERATIONS_DIR = Path(__file__).resolve().parent / "operations"
CLIENT_NAME = "taskql-load"


@dataclass(frozen=True)
class LoadOperation:
    key: str  # the virtual user's task that sends it
    file: str  # relative to perf/operations
    name: str  # the operation's name in the document
    operation_class: OperationClass
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
        return f"{self.operation_class.value}:{self.name}"


OPERATIONS = {
    operation.key: operation
    for operation in (
        LoadOperation("list", "load/task_list.graphql", "TaskList", OperationClass.LIST, 30),
        LoadOperation("get", "task_detail.graphql", "TaskDetail", OperationClass.READ, 20),
        LoadOperation("create", "load/task_create.graphql", "TaskCreate", OperationClass.WRITE, 10),
        LoadOperation("search", "search.graphql", "SearchTasks", OperationClass.SEARCH, 15),
        LoadOperation("update", "load/task_update.graphql", "TaskUpdate", OperationClass.WRITE, 10),
        LoadOperation("comment", "load/comment_create.graphql", "CommentCreate", OperationClass.WRITE, 10),
        LoadOperation("login", "load/auth_login.graphql", "AuthLogin", OperationClass.AUTH, 5),
    )
}


def manifest() -> list[ManifestOperation]:
    return [ManifestOperation(op.document_id, op.body, op.name) for op in OPERATIONS.values()]


async def register(db: Database, settings: Settings) -> RegisterResult:
    """Registers every operation as a trusted document (what `make documents` does); idempotent."""
    # The graphql-core schema strawberry built, as `python -m schema documents` uses it.
    prepare = preparer(build_schema()._schema, settings)
    return await register_documents(db, manifest(), client_name=CLIENT_NAME, prepare=prepare)
