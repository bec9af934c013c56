"""The virtual users of `make load` (perf/load/run.py starts Locust on this file; see docs/performance.md).

Each user signs in as a seeded user of its own (so each has its own cost budget), then, waiting 1-3 s
between requests as in the seed's example, sends trusted documents by id (`{"documentId", "variables"}`)
in the mix of perf/shared/load_mix.py. Like a real client it renews its access token with authRefresh
shortly before the token expires (perf/load/token_clock.py), and signs in again only when a refresh was
refused. Every request is named "<class>:<operation>" and written to the samples file the report is
built from.

FastHttpUser rather than HttpUser: the same API over geventhttpclient, several times less CPU per
request, which matters when Locust shares the two cores with the servers it measures.

Read from the environment: LOAD_PLAN (perf/load/plan.py's JSON), LOAD_SAMPLES (the CSV to write),
LOAD_SCENARIO, LOAD_USERS and LOAD_SECONDS (perf/load/scenarios.py).
"""

from __future__ import annotations

import itertools
import os
import random
import time
from pathlib import Path
from typing import Any

import orjson
from locust import FastHttpUser, LoadTestShape, between, events, task

from perf.load.plan import LoadPlan, PlannedUser
from perf.load.samples import Sample, SampleWriter
from perf.load.scenarios import SCENARIOS
from perf.load.token_clock import AccessToken
from perf.shared.load_mix import OPERATIONS, PAGE_SIZES, SEARCH_TERMS, LoadOperation

PLAN = LoadPlan.read(Path(os.environ["LOAD_PLAN"]))
SCENARIO = SCENARIOS[os.environ["LOAD_SCENARIO"]].sized(int(os.environ["LOAD_USERS"]))
SECONDS = float(os.environ["LOAD_SECONDS"])
_samples_file = Path(os.environ["LOAD_SAMPLES"]).open("w", newline="")  # noqa: SIM115 - closed at quit
_samples = SampleWriter(_samples_file)
# Users are handed the plan's logins in turn: 1,000 users are 1,000 distinct people.
_next_user = itertools.count()
HEADERS = {"content-type": "application/json", "accept": "application/graphql-response+json"}


def _record(
    name: str,
    response_time: float,
    response_length: int,
    response: Any,
    context: dict[str, Any],
    exception: BaseException | None,
    start_time: float,
    **_: Any,
) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    size, ok = response_length or 0, exception is None
    project = context.get("project", "")
    _samples.write(Sample(start_time, name, response_time, status, size, ok, context.get("sql"), project))


def _close(**_: Any) -> None:
    _samples_file.close()


# Locust leaves add_listener untyped.
events.request.add_listener(_record)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_close)  # type: ignore[no-untyped-call]


def _failure(payload: dict[str, Any]) -> str | None:
    """Why an answer counts as failed: GraphQL errors, or a mutation's typed errors."""
    if payload.get("errors"):
        return str(payload["errors"][0].get("extensions", {}).get("code", "GRAPHQL_ERROR"))
    for value in (payload.get("data") or {}).values():
        if isinstance(value, dict) and value.get("errors"):
            return str(value["errors"][0].get("code", "MUTATION_ERROR"))
    return None


class TaskQLUser(FastHttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.me: PlannedUser = PLAN.users[next(_next_user) % len(PLAN.users)]
        self.access: AccessToken | None = None
        self.version = self.me.own_task_version
        # Locust starts a second's users together, at the same instant; people arrive spread over
        # it. Without the spread a 10-per-second ramp is a burst of 10 logins at once every second.
        time.sleep(random.uniform(0, 1))  # gevent patches it: this user waits, the others go on
        self._login()

    def _send(self, operation: LoadOperation, variables: dict[str, Any], project: str = "") -> dict[str, Any]:
        """Sends the trusted document; the answer's `data` (empty when there is none). ``project``: the
        project a list reads or a create writes to, recorded for the report's task-list cache replay."""
        headers = dict(HEADERS)
        if self.access is not None and operation.operation_class != "auth":
            headers["authorization"] = f"Bearer {self.access.token}"
        body = orjson.dumps({"documentId": operation.document_id, "variables": variables}).decode()
        with self.client.post(
            "/graphql", data=body, headers=headers, name=operation.request_name, catch_response=True
        ) as response:
            try:
                payload: dict[str, Any] = orjson.loads(response.content or b"{}")
            except orjson.JSONDecodeError:
                response.failure(f"HTTP {response.status_code}: not JSON")
                return {}
            response.request_meta["context"]["sql"] = (payload.get("extensions") or {}).get("sqlStatements")
            response.request_meta["context"]["project"] = project
            reason = _failure(payload)
            if response.status_code != 200 or reason is not None:
                response.failure(f"HTTP {response.status_code}: {reason}")
            else:
                response.success()
            if reason == "UNAUTHENTICATED" and operation.operation_class != "auth":
                # The session is gone (never, unless something is wrong): sign in again next time.
                self.access = None
            return payload.get("data") or {}

    def _login(self) -> None:
        data = self._send(OPERATIONS["login"], {"input": {"email": self.me.email, "password": PLAN.password}})
        if data.get("authLogin"):
            self.access = AccessToken.from_payload(data["authLogin"])

    def _refresh(self, access: AccessToken) -> None:
        data = self._send(OPERATIONS["refresh"], {"input": {"refreshToken": access.refresh_token}})
        if data.get("authRefresh"):
            self.access = AccessToken.from_payload(data["authRefresh"])
        elif access.expired(time.time()):
            # Refused (shed under stress) and too late to retry with this token: sign in instead.
            self.access = None

    def _signed_in(self) -> bool:
        """Renews a token about to expire; a user whose sign-in was refused (a stress run sheds load)
        tries again instead of working."""
        if self.access is not None and self.access.needs_refresh(time.time()):
            self._refresh(self.access)
        if self.access is None:
            self._login()
        return self.access is not None

    @task(OPERATIONS["list"].weight)
    def list_tasks(self) -> None:
        if self._signed_in():
            project = random.choice(self.me.project_ids)
            self._send(OPERATIONS["list"], {"projectIds": [project], "first": PAGE_SIZES["list"]}, project)

    @task(OPERATIONS["get"].weight)
    def get_task(self) -> None:
        if self._signed_in():
            self._send(
                OPERATIONS["get"], {"taskId": random.choice(self.me.task_ids), "first": PAGE_SIZES["get"]}
            )

    @task(OPERATIONS["create"].weight)
    def create_task(self) -> None:
        if self._signed_in():
            project = random.choice(self.me.project_ids)
            title = f"Load test task {random.randrange(1_000_000)}"
            variables = {"input": {"projectId": project, "title": title, "priority": 1}}
            self._send(OPERATIONS["create"], variables, project)

    @task(OPERATIONS["search"].weight)
    def search(self) -> None:
        if self._signed_in():
            self._send(
                OPERATIONS["search"], {"query": random.choice(SEARCH_TERMS), "first": PAGE_SIZES["search"]}
            )

    @task(OPERATIONS["update"].weight)
    def update_task(self) -> None:
        if not self._signed_in():
            return
        title = f"Load test update {random.randrange(1_000_000)}"
        changes = {"title": title, "priority": random.randrange(4)}
        variables = {"input": {"id": self.me.own_task_id, "version": self.version, **changes}}
        data = self._send(OPERATIONS["update"], variables)
        # On a version conflict too: the payload carries the task as it is now.
        task = (data.get("taskUpdate") or {}).get("task")
        if task:
            self.version = task["version"]

    @task(OPERATIONS["comment"].weight)
    def comment(self) -> None:
        if self._signed_in():
            body = f"Load test comment {random.randrange(1_000_000)}"
            task_id = random.choice(self.me.task_ids)
            self._send(OPERATIONS["comment"], {"input": {"taskId": task_id, "body": body}})

    @task(OPERATIONS["login"].weight)
    def login(self) -> None:
        self._login()


class ScenarioShape(LoadTestShape):
    """The scenario named by LOAD_SCENARIO, stretched over LOAD_SECONDS; the run ends with it."""

    def tick(self) -> tuple[int, float] | None:
        # get_run_time() itself, which Locust leaves untyped.
        stage = SCENARIO.at(time.perf_counter() - self.start_time, SECONDS)
        return None if stage is None else (stage.users, stage.spawn_rate)
