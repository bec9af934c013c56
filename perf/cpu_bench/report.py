"""Turning the measurements into figures: CPU per request by document and engine, the mix's weighted
figure, the JSON file under perf/results/, and the closing lines."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perf.shared.results import RESULTS

SEARCH = "search"


@dataclass(frozen=True)
class DocumentCpu:
    key: str  # the load mix's key: list, get, search
    name: str  # the operation's name
    requests: int
    errors: int
    seconds: float  # wall time of the timed requests
    server_seconds: float  # the server process's CPU
    mariadb_seconds: float  # the CPU of the MariaDB threads serving the server's connections
    mariadb_process_seconds: float  # all of mariadbd, whoever it served: the machine's noise beside it
    mariadb_threads: int  # the threads seen serving the server's connections (its pool's, overflow too)

    def _per_request_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.requests if self.requests else 0.0

    @property
    def server_ms(self) -> float:
        return self._per_request_ms(self.server_seconds)

    @property
    def mariadb_ms(self) -> float:
        return self._per_request_ms(self.mariadb_seconds)

    @property
    def cpu_ms(self) -> float:
        return self.server_ms + self.mariadb_ms


@dataclass(frozen=True)
class EngineRun:
    engine: str
    documents: list[DocumentCpu]

    def document(self, key: str) -> DocumentCpu:
        return next(document for document in self.documents if document.key == key)


def combined(runs: list[EngineRun]) -> EngineRun:
    """One engine's rounds as one run: each document's requests, time and CPU added up."""
    first = runs[0]
    documents = []
    for document in first.documents:
        mine = [run.document(document.key) for run in runs]
        documents.append(
            DocumentCpu(
                key=document.key,
                name=document.name,
                requests=sum(d.requests for d in mine),
                errors=sum(d.errors for d in mine),
                seconds=sum(d.seconds for d in mine),
                server_seconds=sum(d.server_seconds for d in mine),
                mariadb_seconds=sum(d.mariadb_seconds for d in mine),
                mariadb_process_seconds=sum(d.mariadb_process_seconds for d in mine),
                mariadb_threads=max(d.mariadb_threads for d in mine),
            )
        )
    return EngineRun(first.engine, documents)


def mix_cpu_ms(run: EngineRun, shares: dict[str, float]) -> float:
    """CPU (server and MariaDB) of an average read of the load mix: each document by its share."""
    return sum(share * run.document(key).cpu_ms for key, share in shares.items())


def document_line(label: str, document: DocumentCpu) -> str:
    return (
        f"{label:17} {document.name:12} server {document.server_ms:6.2f} ms  "
        f"MariaDB {document.mariadb_ms:6.2f} ms  (mariadbd as a whole "
        f"{document.mariadb_process_seconds * 1000 / max(document.requests, 1):6.2f} ms)  "
        f"{document.requests} requests in {document.seconds:.1f} s, {document.errors} errors, "
        f"{document.mariadb_threads} MariaDB threads"
    )


def search_line(runs: list[EngineRun]) -> str:
    """``search_db_ms=<first engine> <engine>_search_db_ms=<the others>``: MariaDB ms per search."""
    first, *others = runs
    figures = [f"search_db_ms={first.document(SEARCH).mariadb_ms:.2f}"]
    figures += [f"{run.engine}_search_db_ms={run.document(SEARCH).mariadb_ms:.2f}" for run in others]
    return " ".join(figures)


def closing_line(measured: EngineRun, against: EngineRun, shares: dict[str, float]) -> str:
    """``mix_cpu_ms=<measured> <against>_mix_cpu_ms=<against> ratio=<measured/against>``."""
    mine, theirs = mix_cpu_ms(measured, shares), mix_cpu_ms(against, shares)
    ratio = mine / theirs if theirs else 0.0
    return f"mix_cpu_ms={mine:.2f} {against.engine}_mix_cpu_ms={theirs:.2f} ratio={ratio:.2f}"


def write_results(runs: list[EngineRun], shares: dict[str, float], context: dict[str, Any]) -> Path:
    """perf/results/bench-cpu-<UTC time>.json (git-ignored), for comparing runs over time."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "finished_at": stamp,
        **context,
        "shares": shares,
        "engines": {
            run.engine: {
                "mix_cpu_ms": mix_cpu_ms(run, shares),
                "documents": [
                    {**asdict(d), "server_ms": d.server_ms, "mariadb_ms": d.mariadb_ms} for d in run.documents
                ],
            }
            for run in runs
        },
    }
    path = RESULTS / f"bench-cpu-{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
