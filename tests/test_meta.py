"""The repository keeps its own promises: the committed schema is the live one, the packages are ours
(not PyPI's namesakes), the layers import downward only, ruff is clean, the perf operations are valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse, validate

import jobs
import schema
from schema.build import build_schema

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = sorted((ROOT / "perf" / "operations").glob("*.graphql"))
BIN = Path(sys.executable).parent


def test_the_committed_schema_is_the_live_schema() -> None:
    # Given the schema as the code builds it, and the committed schema.graphql
    live = build_schema().as_str() + "\n"
    committed = (ROOT / "schema" / "schema.graphql").read_text()
    # Then they are the same text
    assert committed == live, "schema/schema.graphql is stale: run `make schema` and commit the result"


@pytest.mark.parametrize("package", [schema, jobs], ids=["schema", "jobs"])
def test_packages_named_like_pypi_projects_are_this_repositorys(package: object) -> None:
    # `schema` and `jobs` are also PyPI names: an installed namesake must never shadow ours
    where = Path(str(getattr(package, "__file__", ""))).resolve()
    assert where.parent.parent == ROOT, where


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603 - fixed commands


def test_the_layer_contract_is_kept() -> None:
    # When import-linter checks the contracts (pyproject.toml: top folders, inside schema/ and perf/)
    result = _run(str(BIN / "lint-imports"), "--no-cache")
    # Then the contract is kept
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", 0 broken" in result.stdout


def test_ruff_finds_nothing() -> None:
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_there_are_operations_to_check() -> None:
    assert {p.stem for p in OPERATIONS} >= {"dashboard", "board", "task_detail", "search", "user_page"}


@pytest.mark.parametrize("path", OPERATIONS, ids=[p.stem for p in OPERATIONS])
def test_each_perf_operation_validates_against_the_schema(path: Path) -> None:
    # Given an operation the benchmarks and budgets run
    document = parse(path.read_text())
    # When graphql-core validates it against the live schema
    errors = validate(build_schema()._schema, document)
    # Then it is valid, and it is one named operation (its name labels the metrics)
    assert errors == [], [e.message for e in errors]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1
    assert operations[0].name is not None
