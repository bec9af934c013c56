"""The alert rules pass promtool (syntax and their unit tests); the dashboard and the rules name only
metrics the service exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
from prometheus_client import REGISTRY

import persistence.metrics  # noqa: F401 - registers the service's metrics in the default registry
from tests import services as test_services

MONITORING = Path(__file__).resolve().parents[2] / "perf" / "monitoring"
# What is not a metric name: label matchers and ranges, groupings' label lists, strings, durations.
_NOT_NAMES = re.compile(r'\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring)\s*\([^)]*\)|"[^"]*"')
# An identifier that is not a function call (a function's name is followed by its parenthesis).
_IDENTIFIER = re.compile(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "group_left", "group_right"}
_RULE_NAME = re.compile(r"taskql:[a-z0-9_:]+")
# Read by the /metrics handler at scrape time, not registered in the default registry.
SCRAPE_TIME = {"rq_queue_depth"}
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported_names() -> set[str]:
    names = set(SCRAPE_TIME)
    for family in REGISTRY.collect():
        names |= {family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",))}
    return names


def selectors(expr: str) -> set[str]:
    """The metric names an expression reads (recording rules of alerts.yml aside)."""
    bare = _NOT_NAMES.sub(" ", expr)
    return {
        name for name in _IDENTIFIER.findall(bare) if name not in _KEYWORDS and not _RULE_NAME.fullmatch(name)
    }


def test_selectors_are_found_with_and_without_matchers() -> None:
    expr = 'sum by (le) (rate(a_bucket{x="y"}[5m])) / sum(b_total) > 0.5 and vector(1) + c'
    assert selectors(expr) == {"a_bucket", "b_total", "c"}


def rule_expressions(rules: str) -> list[str]:
    """The ``expr`` of every rule: inline, or a ``|`` block of the lines indented under it (the two
    forms alerts.yml uses; promtool has checked the file's YAML itself)."""
    exprs: list[str] = []
    lines = rules.splitlines()
    for number, line in enumerate(lines):
        key, _, value = line.strip().partition(":")
        if key != "expr":
            continue
        if value.strip() != "|":
            exprs.append(value.strip())
            continue
        indent = len(line) - len(line.lstrip())
        block = []
        for following in lines[number + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            block.append(following.strip())
        exprs.append(" ".join(block))
    return exprs


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool is missing: `make system-deps` installs Debian's prometheus package"
        if test_services.in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def test_the_alert_rules_are_valid() -> None:
    result = subprocess.run(  # noqa: S603 - promtool from PATH, our own file
        [promtool(), "check", "rules", str(MONITORING / "alerts.yml")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_fire_where_they_should() -> None:
    result = subprocess.run(  # noqa: S603 - promtool from PATH, our own file
        [promtool(), "test", "rules", "alerts_test.yml"],
        cwd=MONITORING,
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_name_only_exported_metrics() -> None:
    exprs = rule_expressions((MONITORING / "alerts.yml").read_text())
    assert len(exprs) == 18  # promtool's count of the file's rules
    named = set().union(*(selectors(expr) for expr in exprs))
    assert named, exprs
    assert named <= exported_names(), named - exported_names()


def test_the_dashboard_parses_and_names_only_exported_metrics() -> None:
    dashboard = orjson.loads((MONITORING / "grafana-dashboard.json").read_bytes())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(exprs) >= 10
    named = set().union(*(selectors(expr) for expr in exprs))
    # Every family the seed asks to see is on it.
    for wanted in (
        "http_requests_total",
        "graphql_operation_duration_seconds_bucket",
        "cache_hits_total",
        "db_pool_connections",
        "rq_queue_depth",
        "graphql_sql_statements_bucket",
    ):
        assert wanted in named
    assert named <= exported_names(), named - exported_names()
