"""The load's operations (`make load`, and `make bench-cpu` for its reads): each a .graphql file under
perf/operations, its seed class, its share of the mix, the trusted-document id the virtual users send
instead of its text, and what the reads are sent with (page sizes, search terms).

The mix follows the seed's Locust example (list 30 %, get 20 %, create 10 %) and fills the remaining
40 % with search 15 %, update 10 %, comment 10 % and login 5 %. Token refreshes are outside the mix
(weight 0): a virtual user sends one when its access token nears its expiry, as a real client does.

Locust imports the locustfile, and through it this module, with perf/load/ first on sys.path, where
that package's modules (report, samples, ...) would hide any namesake: it imports nothing of the
application but the search terms' vocabulary (import contracts in pyproject.toml keep it so).
perf/shared/load_documents.py registers the documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from persistence.seed_text import word_of_rank

OPERATIONS_DIR = Path(__file__).resolve().parents[1] / "operations"
CLIENT_NAME = "taskql-load"


@dataclass(frozen=True)
class LoadOperation:
    key: str  # the virtual user's task that sends it
    file: str  # relative to perf/operations
    name: str  # the operation's name in the document
    operation_class: str  # schema.guard.operation_class.OperationClass's value (a test checks they agree)
    weight: int  # percent of the mix (all weights sum to 100); 0: sent when due, not drawn

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
        LoadOperation("refresh", "load/auth_refresh.graphql", "AuthRefresh", "auth", 0),
    )
}

# `first` of each read: a list page, a task's page of comments, a page of search results.
PAGE_SIZES = {"list": 20, "get": 10, "search": 20}

# What users search for: words of the seeded descriptions (persistence/seed_text.py) from rank 20 (in
# about 5 % of tasks) to rank 1,000 (about 0.1 %), as people search for what sets a task apart, plus two
# title words and two topic words (each in 6 to 12 % of tasks).
_RANKS = (20, 30, 40, 60, 80, 100, 150, 200, 300, 400, 600, 800, 1000)
SEARCH_TERMS = (*(word_of_rank(rank) for rank in _RANKS), "dashboard", "billing", "invoice", "deploy")
