"""One line per request of a load run, written by the Locust process and read by the report: the raw
material every figure of the report is computed from (Locust's own CSV has no per-class histograms over
time nor our SQL counts)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

FIELDS = ("started", "name", "response_ms", "status", "size", "ok", "sql", "project")


@dataclass(frozen=True)
class Sample:
    started: float  # Unix time the request was sent
    name: str  # "<operation class>:<operation name>"
    response_ms: float
    status: int  # HTTP status; 0 when no answer came (connection refused or reset)
    size: int  # response body bytes
    ok: bool  # 2xx and no GraphQL or mutation errors
    sql: int | None  # the answer's extensions.sqlStatements
    project: str = ""  # the project a list reads or a create writes to (global id); else empty

    @property
    def operation_class(self) -> str:
        return self.name.split(":", 1)[0]


class SampleWriter:
    def __init__(self, sink: TextIO) -> None:
        self._writer = csv.writer(sink)
        self._writer.writerow(FIELDS)

    def write(self, sample: Sample) -> None:
        self._writer.writerow(
            (f"{sample.started:.3f}", sample.name, f"{sample.response_ms:.2f}", sample.status, sample.size,
             int(sample.ok), "" if sample.sql is None else sample.sql, sample.project)
        )  # fmt: skip


def read_samples(path: Path) -> Iterator[Sample]:
    with path.open(newline="") as source:
        for row in csv.DictReader(source):
            yield Sample(
                started=float(row["started"]),
                name=row["name"],
                response_ms=float(row["response_ms"]),
                status=int(row["status"]),
                size=int(row["size"]),
                ok=row["ok"] == "1",
                sql=int(row["sql"]) if row["sql"] else None,
                project=row.get("project") or "",
            )
