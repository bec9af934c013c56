"""The write pair's requests and answers: a new title for a task at its current version, with a fresh
Idempotency-Key, as ``taskUpdate`` on the server and as ``POST /raw/tasks/{id}/update`` on the raw app.
Both answer ``{"data": {"taskUpdate": {"task": {"id", "version"}, "errors": [...]}}}``, so one reading
of the answer serves both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

UPDATE_MUTATION = " ".join(
    [
        "mutation ($input: TaskUpdateInput!)",
        "{ taskUpdate(input: $input) { task { id version } errors { code } } }",
    ]
)
GRAPHQL, RAW = "graphql", "raw"


@dataclass(frozen=True)
class WriteRequest:
    path: str
    body: bytes


def write_request(kind: str, task_id: str, version: int, title: str) -> WriteRequest:
    """``task_id`` is the task's global id; ``kind`` says which side the request is for."""
    if kind == GRAPHQL:
        variables = {"input": {"id": task_id, "version": version, "title": title}}
        return WriteRequest("/graphql", orjson.dumps({"query": UPDATE_MUTATION, "variables": variables}))
    if kind == RAW:
        return WriteRequest(
            f"/raw/tasks/{task_id}/update", orjson.dumps({"version": version, "title": title})
        )
    raise ValueError(f"no write side {kind!r}")


def written_version(status: int, body: bytes) -> int | None:
    """The task's new version when the answer says the write went through (2xx, no error at the
    top or in the payload), else None."""
    if not 200 <= status < 300:
        return None
    try:
        answer: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(answer, dict) or answer.get("errors"):
        return None
    result = (answer.get("data") or {}).get("taskUpdate") or {}
    version = (result.get("task") or {}).get("version")
    if result.get("errors") != [] or not isinstance(version, int):
        return None
    return version
