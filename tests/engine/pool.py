"""What documents of the differential run name: the seeded organization's ids (global), task and project
keys, label ids, real cursors of every order, and search words; and the seeded choices among them that
both the variable filler and the random queries make."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from persistence.models import Attachment, Comment, Event, Label, Project, Task
from persistence.seed import SeededOrganization
from persistence.seed_text import TOPIC_WORDS, word_of_rank
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient

# A database id no organization has: its global id is NOT_FOUND wherever it is asked for.
MISSING = 10**12
TASK_ORDERS = ("CREATED_AT", "UPDATED_AT", "DUE_DATE", "PRIORITY", "NUMBER", "POSITION")
# The orders' names inside cursors (schema/core/cursors.py): a task order's is its field's value.
CURSOR_ORDER = {field: field.lower() for field in TASK_ORDERS}
SEARCH_WORDS = (*TOPIC_WORDS[:6], *(word_of_rank(rank) for rank in (1, 2, 5, 20)), "billing", "login")


@dataclass(frozen=True)
class Pool:
    organization_id: str
    task_ids: list[str]
    parent_ids: list[str]  # tasks with subtasks
    project_ids: list[str]
    project_keys: list[str]
    user_ids: list[str]
    label_ids: list[str]
    # What node(id:) also reads: comments (deleted ones too), attachments, task events.
    comment_ids: list[str]
    attachment_ids: list[str]
    event_ids: list[str]
    task_keys: list[str]
    cursors: dict[str, list[str]]  # by the order's name inside the cursor


def _cursor_order(cursor: str) -> str:
    order: str = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))[0]
    return order


def _cursors_query() -> str:
    """Pages of every list, as edges' cursors: run once by the resolvers for a pool of real cursors."""
    by_order = " ".join(
        f"{order.lower()}: tasks(first: 40, orderBy: {{field: {order}}}) {{ edges {{ cursor }} }}"
        for order in TASK_ORDERS
    )
    nested = "comments(first: 5) { edges { cursor } } activity(first: 5) { edges { cursor } }"
    return (
        f"{{ {by_order} nested: tasks(first: 40) {{ nodes {{ {nested} }} }} "
        "projects(first: 20) { edges { cursor } } users(first: 20) { edges { cursor } } "
        'searchTasks(query: "customer", first: 30) { edges { cursor } } }'
    )


def _collect_cursors(answer: Any, into: dict[str, list[str]]) -> None:
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key == "cursor" and isinstance(value, str):
                into.setdefault(_cursor_order(value), []).append(value)
            else:
                _collect_cursors(value, into)
    elif isinstance(answer, list):
        for item in answer:
            _collect_cursors(item, into)


async def load_pool(services: Services, org: SeededOrganization, owner: GraphQLClient) -> Pool:
    """The organization's pool; ``owner`` (who sees every project) reads the cursors."""
    async with services.db.read() as conn:
        keys = dict((await conn.execute(select(Project.id, Project.key).order_by(Project.id))).all())
        tasks = (
            await conn.execute(
                select(Task.id, Task.project_id, Task.number, Task.parent_id)
                .where(Task.organization_id == org.organization_id, Task.deleted_at.is_(None))
                .order_by(Task.id)
            )
        ).all()
        labels = (
            await conn.execute(
                select(Label.id).where(Label.project_id.in_(org.project_ids)).order_by(Label.id)
            )
        ).scalars()
        label_ids = [encode_id("Label", label) for label in labels]
        task_ids = [t.id for t in tasks]
        comments = (
            await conn.execute(select(Comment.id).where(Comment.task_id.in_(task_ids)).order_by(Comment.id))
        ).scalars()
        comment_ids = [encode_id("Comment", comment) for comment in comments]
        attachments = (
            await conn.execute(select(Attachment.id).where(Attachment.task_id.in_(task_ids)))
        ).scalars()
        attachment_ids = [encode_id("Attachment", attachment) for attachment in attachments]
        events = (
            await conn.execute(
                select(Event.id)
                .where(Event.organization_id == org.organization_id, Event.task_id.is_not(None))
                .order_by(Event.id)
                .limit(200)
            )
        ).scalars()
        event_ids = [encode_id("ActivityEvent", event) for event in events]
    answer = await owner.run(_cursors_query())
    assert "errors" not in answer, answer
    cursors: dict[str, list[str]] = {}
    _collect_cursors(answer["data"], cursors)
    parents = sorted({t.parent_id for t in tasks if t.parent_id is not None})
    return Pool(
        organization_id=encode_id("Organization", org.organization_id),
        task_ids=[encode_id("Task", t.id) for t in tasks],
        parent_ids=[encode_id("Task", p) for p in parents],
        project_ids=[encode_id("Project", p) for p in org.project_ids],
        project_keys=[keys[p] for p in org.project_ids],
        user_ids=[encode_id("User", u) for u in org.user_ids],
        label_ids=label_ids,
        comment_ids=comment_ids,
        attachment_ids=attachment_ids,
        event_ids=event_ids,
        task_keys=[f"{keys[t.project_id]}-{t.number}" for t in tasks],
        cursors=cursors,
    )


class Choices:
    """Seeded picks from a pool; a few ids and keys are missing ones (their answer is NOT_FOUND)."""

    def __init__(self, pool: Pool, rng: random.Random, missing_rate: float = 0.06) -> None:
        self.pool = pool
        self.rng = rng
        self.missing_rate = missing_rate

    def _missing(self) -> bool:
        return self.rng.random() < self.missing_rate

    def task_id(self) -> str:
        return encode_id("Task", MISSING) if self._missing() else self.rng.choice(self.pool.task_ids)

    def parent_id(self) -> str:
        return self.rng.choice(self.pool.parent_ids or self.pool.task_ids)

    def project_id(self) -> str:
        return encode_id("Project", MISSING) if self._missing() else self.rng.choice(self.pool.project_ids)

    def user_id(self) -> str:
        return encode_id("User", MISSING) if self._missing() else self.rng.choice(self.pool.user_ids)

    def label_id(self) -> str:
        return self.rng.choice(self.pool.label_ids)

    def node_id(self) -> str:
        """Mostly tasks, projects and users; the organization, comments, labels, attachments and
        activity events now and then."""
        kinds = ["task", "project", "user", "organization", "comment", "label", "attachment", "event"]
        kind = self.rng.choices(kinds, [4, 3, 3, 1, 2, 1, 1, 1])[0]
        if kind == "organization":
            return self.pool.organization_id
        owned = {
            "comment": ("Comment", self.pool.comment_ids),
            "label": ("Label", self.pool.label_ids),
            "attachment": ("Attachment", self.pool.attachment_ids),
            "event": ("ActivityEvent", self.pool.event_ids),
        }
        if kind in owned:
            type_name, ids = owned[kind]
            return encode_id(type_name, MISSING) if self._missing() or not ids else self.rng.choice(ids)
        return {"task": self.task_id, "project": self.project_id, "user": self.user_id}[kind]()

    def task_key(self) -> str:
        if self._missing():
            return f"{self.pool.project_keys[0]}-99999"
        key = self.rng.choice(self.pool.task_keys)
        # Keys are read trimmed and in any case (resolvers.tasks.parse_task_key).
        return f" {key.lower()}" if self.rng.random() < 0.1 else key

    def project_key(self) -> str:
        return "NOPE" if self._missing() else self.rng.choice(self.pool.project_keys)

    def some(self, pick: str, most: int = 3) -> list[str]:
        """One to ``most`` distinct ids: ``pick`` names a method (task_id, label_id, ...)."""
        chosen = [getattr(self, pick)() for _ in range(self.rng.randint(1, most))]
        return list(dict.fromkeys(chosen))

    def cursor(self, order: str) -> str | None:
        found = self.pool.cursors.get(order)
        return self.rng.choice(found) if found else None

    def search(self) -> str:
        return " ".join(self.rng.sample(SEARCH_WORDS, self.rng.randint(1, 2)))

    def page(self, nested: bool) -> int:
        """A page size: small, nested ones smaller (what is compared is not how much)."""
        return self.rng.randint(0, 5 if nested else 20)

    def day(self) -> str:
        return (date.today() + timedelta(days=self.rng.randint(-60, 90))).isoformat()

    def moment(self) -> str:
        return (datetime.now(UTC) - timedelta(minutes=self.rng.randint(0, 10**5))).isoformat()
