"""What each virtual user works on, read from the bench database before the run and handed to Locust
as a JSON file: its login, the projects it may write to, tasks it sees, and a task of its own to update
(its own, so two users never race on one task's version)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import orjson


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
