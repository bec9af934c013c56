"""deploy/: the local fleet's compose file, validated without a container engine by Debian's
docker-compose (it parses, interpolates and checks the file), with its HAProxy and Prometheus
configuration checked by their own tools."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from perf.shared.server_process import ROOT
from persistence.settings import Settings
from tests import services as test_services

DEPLOY = ROOT / "deploy"
MONITORING = ROOT / "perf" / "monitoring"
API_SERVICES = ["api-1", "api-2"]


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is missing: `make system-deps` installs Debian's {package} package"
        if test_services.in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def _run(*command: str, cwd: Path = DEPLOY) -> subprocess.CompletedProcess[str]:
    # The caller's COMPOSE_* variables (a project name, another file) must not change what is checked.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603


@pytest.fixture(scope="module")
def fleet() -> dict[str, Any]:
    """The compose file as docker-compose resolves it (anchors merged, variables interpolated)."""
    result = _run(_tool("docker-compose", "docker-compose"), "config")
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = yaml.safe_load(result.stdout)
    return resolved


def test_the_fleet_has_every_process_of_the_production_shape(fleet: dict[str, Any]) -> None:
    assert sorted(fleet["services"]) == sorted(
        [
            "mariadb-primary",
            "mariadb-replica",
            "redis",
            "migrate",
            *API_SERVICES,
            "worker",
            "haproxy",
            "prometheus",
            "grafana",
        ]
    )


def test_the_api_and_the_worker_run_the_image_commands_after_the_migration(fleet: dict[str, Any]) -> None:
    services = fleet["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["worker"]["command"] == ["worker"]
    for name in [*API_SERVICES, "worker"]:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    for name in API_SERVICES:
        assert services[name]["command"] == ["serve"]
        assert services[name]["environment"]["TASKQL_ENVIRONMENT"] == "production"


def test_the_replica_replicates_from_the_primary(fleet: dict[str, Any]) -> None:
    services = fleet["services"]
    assert services["mariadb-replica"]["environment"]["MARIADB_MASTER_HOST"] == "mariadb-primary"
    assert "--log-bin" in services["mariadb-primary"]["command"]
    assert "--read-only=1" in services["mariadb-replica"]["command"]


def test_the_api_reads_lists_from_the_replica(fleet: dict[str, Any]) -> None:
    services = fleet["services"]
    for name in API_SERVICES:
        replica_url = services[name]["environment"]["TASKQL_DATABASE_REPLICA_URL"]
        assert replica_url.startswith("mysql+aiomysql://taskql:taskql@mariadb-replica:3306/"), name
        Settings(
            database_url=services[name]["environment"]["TASKQL_DATABASE_URL"],
            database_replica_url=replica_url,
        )
    # Jobs read the primary: what they send must be what was committed.
    assert "TASKQL_DATABASE_REPLICA_URL" not in services["worker"]["environment"]


def test_prometheus_scrapes_every_api_process_and_the_worker(fleet: dict[str, Any], tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    worker_port = fleet["services"]["worker"]["environment"]["TASKQL_WORKER_METRICS_PORT"]
    assert {*(f"{api}:8000" for api in API_SERVICES), f"worker:{worker_port}"} <= targets
    # promtool resolves the rule file beside the configuration, as the container mounts it.
    shutil.copy(DEPLOY / "prometheus" / "prometheus.yml", tmp_path)
    shutil.copy(MONITORING / "alerts.yml", tmp_path)
    checked = _run(_tool("promtool", "prometheus"), "check", "config", "prometheus.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_haproxy_balances_the_api_services_and_its_configuration_is_valid() -> None:
    config = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    servers = [line.split()[1] for line in config.splitlines() if line.strip().startswith("server ")]
    assert servers == API_SERVICES
    checked = _run(_tool("haproxy", "haproxy"), "-c", "-f", "haproxy/haproxy.cfg")
    assert checked.returncode == 0, checked.stdout + checked.stderr
