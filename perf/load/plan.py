"""What each virtual user works on, read from the bench database before the run and handed to Locust
as a JSON file: its login, the projects it may write to, tasks it sees, and a task of its own to update
(its own, so two users never race on one task's version)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from persistence.seed_text import word_of_rank

# What users search for: words of the seeded descriptions (persistence/seed_text.py) from rank 20 (in
# about 5 % of tasks) to rank 1,000 (about 0.1 %), as people search for what sets a task apart, plus two
# title words and two topic words (each in 6 to 12 % of tasks).
_RANKS = (20, 30, 40, 60, 80, 100, 150, 200, 300, 400, 600, 800, 1000)
SEARCH_TERMS = (*(word_of_rank(rank) for rank in _RANKS), "dashboard", "billing", "invoice", "deploy")


@dataclass(frozen=True)
class PlannedUser:
    email: str
    project_ids: list[str]  # global ids of projects it edits
    task_ids: list[str]  # global ids of tasks it sees (get, comment)
    own_task_id: str  # the task only it updates
    own_task_version: int


@dataclass(frozen=True)
class LoadPlan:
    password: str
    users: list[PlannedUser]

    def write(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> LoadPlan:
        raw = orjson.loads(path.read_bytes())
        return cls(raw["password"], [PlannedUser(**user) for user in raw["users"]])
