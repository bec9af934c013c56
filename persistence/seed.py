"""Generated organizations: the embedded default's demo data, and the benchmarks' larger data sets.

Rows are made in Python with a seeded random generator and inserted in bulk with explicit ids
(taken after the highest id present), so the same sizes give the same data every time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.db import Database
from persistence.enums import OrgRole, ProjectRole, TaskStatus
from persistence.models import (
    Base,
    Comment,
    Event,
    Label,
    Organization,
    Project,
    ProjectMember,
    Task,
    TaskLabel,
    User,
)
from persistence.passwords import Passwords
from persistence.seed_text import TOPIC_WORDS, description

DEMO_EMAIL = "demo@taskql.dev"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - the documented login of the embedded demo only


@dataclass(frozen=True)
class SeedSizes:
    users: int
    projects: int
    tasks: int
    comments_per_task: float
    members_per_project: int


DEMO_SIZES = SeedSizes(users=50, projects=20, tasks=5000, comments_per_task=2.0, members_per_project=12)

_KEYS = ["OPS", "WEB", "API", "MOB", "DES", "MKT", "FIN", "HR", "SEC", "DATA",
         "INFRA", "QA", "DOCS", "SALES", "SUP", "ML", "PAY", "AUTH", "SRCH", "GROW"]  # fmt: skip
_LABELS = [("bug", "#d73a4a"), ("feature", "#a2eeef"), ("chore", "#cfd3d7"), ("urgent", "#b60205"),
           ("design", "#7057ff"), ("docs", "#0075ca")]  # fmt: skip
_VERBS = [
    "Fix",
    "Add",
    "Refactor",
    "Document",
    "Investigate",
    "Improve",
    "Remove",
    "Migrate",
    "Test",
    "Review",
]
_NOUNS = ["login flow", "billing page", "search index", "webhook retries", "cache layer", "export job",
          "dashboard", "mobile layout", "rate limiter", "audit log", "onboarding email", "API docs",
          "permissions model", "report builder", "notification center", "file uploads"]  # fmt: skip
_FIRST = ["Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger",
          "Radia", "Donald", "Hedy", "John", "Katherine", "Niklaus", "Sophie", "Tim", "Guido"]  # fmt: skip
_LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen",
         "Dijkstra", "Perlman", "Knuth", "Lamarr", "McCarthy", "Johnson", "Wirth", "Wilson"]  # fmt: skip


@dataclass(frozen=True)
class SeededOrganization:
    organization_id: int
    owner_email: str
    user_ids: list[int]
    project_ids: list[int]
    task_ids: list[int]


async def _next_id(conn: AsyncConnection, model: type[Base]) -> int:
    highest = select(func.coalesce(func.max(model.__table__.c.id), 0))
    return int((await conn.execute(highest)).scalar_one()) + 1


async def _bulk(
    conn: AsyncConnection, model: type[Base], rows: Sequence[dict[str, Any]], chunk: int = 2000
) -> None:
    for start in range(0, len(rows), chunk):
        await conn.execute(insert(model), list(rows[start : start + chunk]))


@dataclass
class _Rows:
    """The rows of one generated organization, table by table, before they are inserted."""

    users: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    task_labels: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


class _Generator:
    def __init__(
        self, sizes: SeedSizes, first_ids: dict[type[Base], int], org_id: int, slug: str, rng_seed: int
    ) -> None:
        self.sizes = sizes
        self.ids = first_ids
        self.org_id = org_id
        self.slug = slug
        self.rng = random.Random(rng_seed)  # noqa: S311 - demo data, not secrets
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.rows = _Rows()
        self.people: dict[int, list[int]] = {}
        self.label_ids: dict[int, list[int]] = {}

    def users(self, owner_email: str, password_hash: str, *, owner_is_operator: bool) -> None:
        for i in range(self.sizes.users):
            role = OrgRole.MEMBER
            if i == 0:
                role = OrgRole.OWNER
            elif i <= 2:
                role = OrgRole.ADMIN
            elif i % 10 == 9:
                role = OrgRole.GUEST
            self.rows.users.append({
                "id": self.ids[User] + i, "organization_id": self.org_id,
                "email": owner_email if i == 0 else f"user{i}@{self.slug}.taskql.dev",
                "name": f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}",
                "password_hash": password_hash, "role": role, "is_operator": owner_is_operator and i == 0,
                "created_at": self.now - timedelta(days=400 - i % 300), "updated_at": self.now,
            })  # fmt: skip

    def projects(self) -> None:
        user_ids = [u["id"] for u in self.rows.users]
        for p in range(self.sizes.projects):
            project_id = self.ids[Project] + p
            key = _KEYS[p] if self.sizes.projects <= len(_KEYS) else f"P{p + 1}"
            self.rows.projects.append({
                "id": project_id, "organization_id": self.org_id, "key": key, "name": f"{key} project",
                "description": f"Work of the {key} team.", "task_counter": 0,
                "created_at": self.now - timedelta(days=365), "updated_at": self.now,
            })  # fmt: skip
            chosen = self.rng.sample(user_ids[1:], min(self.sizes.members_per_project, len(user_ids) - 1))
            self.people[project_id] = [user_ids[0], *chosen]
            for n, user_id in enumerate(self.people[project_id]):
                role = (
                    ProjectRole.ADMIN if n < 2 else ProjectRole.VIEWER if n % 5 == 4 else ProjectRole.EDITOR
                )
                self.rows.members.append(
                    {"project_id": project_id, "user_id": user_id, "role": role, "created_at": self.now}
                )
            self.label_ids[project_id] = []
            for name, color in _LABELS:
                label_id = self.ids[Label] + len(self.rows.labels)
                self.rows.labels.append(
                    {"id": label_id, "project_id": project_id, "name": name, "color": color}
                )
                self.label_ids[project_id].append(label_id)

    def tasks(self) -> None:
        counters: dict[int, int] = dict.fromkeys(self.people, 0)
        siblings: dict[int, list[int]] = {pid: [] for pid in self.people}
        for t in range(self.sizes.tasks):
            task_id = self.ids[Task] + t
            project_id = self.rows.projects[t % len(self.rows.projects)]["id"]
            counters[project_id] += 1
            task = self._task(task_id, project_id, counters[project_id], siblings[project_id])
            self.rows.tasks.append(task)
            siblings[project_id].append(task_id)
            self._task_extras(task)
        for project in self.rows.projects:
            project["task_counter"] = counters[project["id"]]

    def _task(self, task_id: int, project_id: int, number: int, siblings: list[int]) -> dict[str, Any]:
        rng, people = self.rng, self.people[project_id]
        created = self.now - timedelta(minutes=rng.randint(60, 180 * 24 * 60))
        status = rng.choice(list(TaskStatus))
        due = date.today() + timedelta(days=rng.randint(-60, 90))
        return {
            "id": task_id, "organization_id": self.org_id, "project_id": project_id, "number": number,
            "title": f"{rng.choice(_VERBS)} {rng.choice(_NOUNS)}",
            "description": description(rng),
            "status": status, "priority": rng.randint(0, 4), "position": float(number * 1024),
            "assignee_id": rng.choice(people) if rng.random() < 0.85 else None,
            "reporter_id": rng.choice(people),
            "due_date": due if rng.random() < 0.7 else None,
            "parent_id": rng.choice(siblings) if siblings and rng.random() < 0.1 else None,
            "version": 1, "created_at": created, "updated_at": created + timedelta(hours=rng.randint(0, 72)),
            "completed_at": created + timedelta(days=3) if status is TaskStatus.DONE else None,
        }  # fmt: skip

    def _task_extras(self, task: dict[str, Any]) -> None:
        """The task's labels, comments and its `task.created` event (already published)."""
        rng, project_id, created = self.rng, task["project_id"], task["created_at"]
        for label_id in rng.sample(self.label_ids[project_id], rng.randint(0, 3)):
            self.rows.task_labels.append({"task_id": task["id"], "label_id": label_id})
        per_task = self.sizes.comments_per_task
        for c in range(int(per_task) + (rng.random() < per_task % 1)):
            at = created + timedelta(hours=c + 1)
            self.rows.comments.append({
                "id": self.ids[Comment] + len(self.rows.comments), "task_id": task["id"],
                "author_id": rng.choice(self.people[project_id]),
                "body": " ".join(rng.choices(TOPIC_WORDS, k=rng.randint(3, 30))),
                "created_at": at, "updated_at": at,
            })  # fmt: skip
        self.rows.events.append({
            "organization_id": self.org_id, "project_id": project_id, "task_id": task["id"],
            "actor_id": task["reporter_id"], "type": "task.created", "sequence": task["number"],
            "payload": {"number": task["number"]}, "created_at": created, "published_at": created,
        })  # fmt: skip


async def seed_organization(
    db: Database,
    passwords: Passwords,
    sizes: SeedSizes,
    *,
    slug: str,
    owner_email: str,
    password: str,
    rng_seed: int = 42,
    owner_is_operator: bool = False,
) -> SeededOrganization:
    """One organization with users, projects, members, labels, tasks, comments and their events."""
    # Every generated user shares one hash: hashing thousands of demo passwords would take minutes.
    password_hash = await passwords.hash(password)
    async with db.unit_of_work() as conn:
        ids: dict[type[Base], int] = {
            t: await _next_id(conn, t) for t in (Organization, User, Project, Label, Task, Comment)
        }
        gen = _Generator(sizes, ids, ids[Organization], slug, rng_seed)
        gen.users(owner_email, password_hash, owner_is_operator=owner_is_operator)
        gen.projects()
        gen.tasks()
        organization = {"id": gen.org_id, "slug": slug, "name": slug.title(), "created_at": gen.now}
        await _bulk(conn, Organization, [organization])
        rows = gen.rows
        for model, table_rows in (
            (User, rows.users),
            (Project, rows.projects),
            (ProjectMember, rows.members),
            (Label, rows.labels),
            (Task, rows.tasks),
            (TaskLabel, rows.task_labels),
            (Comment, rows.comments),
            (Event, rows.events),
        ):
            await _bulk(conn, model, table_rows)
    return SeededOrganization(
        gen.org_id,
        owner_email,
        [u["id"] for u in rows.users],
        [p["id"] for p in rows.projects],
        [t["id"] for t in rows.tasks],
    )


async def seed_demo_if_empty(db: Database, passwords: Passwords, sizes: SeedSizes) -> bool:
    """The embedded default's demo organization, made once: on first start."""
    async with db.read() as conn:
        exists = (
            await conn.execute(
                select(Organization.__table__.c.id).where(Organization.__table__.c.slug == "demo")
            )
        ).first()
    if exists is not None:
        return False
    # An operator too, so the demo's /ops page works without a database shell.
    await seed_organization(
        db,
        passwords,
        sizes,
        slug="demo",
        owner_email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        owner_is_operator=True,
    )
    return True
