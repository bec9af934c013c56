"""deploy/kubernetes/: the manifests as `kubectl kustomize` renders them, offline (no cluster), checked
against what the image really runs: the entrypoint's commands, the Dockerfile's user and port, the
settings the processes read and RQ's queue names."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from jobs.queues import QUEUE_NAMES
from perf.shared.server_process import ROOT
from persistence.settings import Settings
from tests import services as test_services

KUBERNETES = ROOT / "deploy" / "kubernetes"
ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"
DOCKERFILE = ROOT / "Dockerfile"
WORKLOADS = {"Deployment": ["taskql-api", "taskql-worker"], "Job": ["taskql-migrate"]}
COMMANDS = {"taskql-api": "serve", "taskql-worker": "worker", "taskql-migrate": "migrate"}
# Read by the entrypoint script, not by the settings.
ENTRYPOINT_VARIABLES = {"TASKQL_SERVER_WORKERS"}

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def manifests() -> list[Manifest]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        message = "kubectl is missing: `make system-deps` installs Debian's kubernetes-client package"
        if test_services.in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    result = subprocess.run(  # noqa: S603
        [kubectl, "kustomize", str(KUBERNETES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def _find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def _workloads(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {name: _find(manifests, kind, name) for kind, names in WORKLOADS.items() for name in names}


def _pod(workload: Manifest) -> Manifest:
    pod: Manifest = workload["spec"]["template"]["spec"]
    return pod


def _container(workload: Manifest) -> Manifest:
    containers = _pod(workload)["containers"]
    assert len(containers) == 1
    container: Manifest = containers[0]
    return container


def _env(container: Manifest) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def _entrypoint_commands() -> set[str]:
    # The script's `case` arms: `  serve)`, `  worker)`...
    return set(re.findall(r"^  ([a-z]+)\)$", ENTRYPOINT.read_text(), flags=re.MULTILINE))


def _dockerfile_user() -> int:
    match = re.search(r"^USER (\d+)$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def _dockerfile_port() -> int:
    match = re.search(r"TASKQL_PORT=(\d+)", DOCKERFILE.read_text())
    assert match is not None
    return int(match.group(1))


def test_every_workload_runs_one_of_the_image_commands_through_its_entrypoint(
    manifests: list[Manifest],
) -> None:
    assert {"serve", "worker", "migrate"} <= _entrypoint_commands()
    for name, workload in _workloads(manifests).items():
        container = _container(workload)
        # `args` replaces the image's CMD and keeps its ENTRYPOINT (the script); `command` would not.
        assert "command" not in container, name
        assert container["args"] == [COMMANDS[name]], name
        assert container["args"][0] in _entrypoint_commands()
        assert container["image"].split("/")[-1].startswith("taskql:"), name


def test_every_container_has_cpu_and_memory_requests_within_its_limits(manifests: list[Manifest]) -> None:
    def millicores(quantity: str) -> float:
        return float(quantity[:-1]) if quantity.endswith("m") else float(quantity) * 1000

    for name, workload in _workloads(manifests).items():
        resources = _container(workload)["resources"]
        for kind in ("cpu", "memory"):
            assert kind in resources["requests"], f"{name}: no {kind} request"
            assert kind in resources["limits"], f"{name}: no {kind} limit"
        assert millicores(resources["requests"]["cpu"]) <= millicores(resources["limits"]["cpu"]), name


def test_every_pod_runs_as_the_image_user_without_privileges_on_a_read_only_root(
    manifests: list[Manifest],
) -> None:
    for name, workload in _workloads(manifests).items():
        pod = _pod(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == _dockerfile_user(), name
        container = _container(workload)
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["capabilities"]["drop"] == ["ALL"], name
        # Python and prometheus-client write temporary files: /tmp is a writable emptyDir.
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]  # noqa: S108
        assert len(tmp) == 1, name
        assert "emptyDir" in volumes[tmp[0]["name"]], name


def test_the_api_is_ready_on_readyz_alive_on_healthz_on_the_image_port(manifests: list[Manifest]) -> None:
    api = _find(manifests, "Deployment", "taskql-api")
    container = _container(api)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    readiness, liveness = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
    assert readiness["path"] == "/readyz"
    assert liveness["path"] == "/healthz"
    assert ports[readiness["port"]] == ports[liveness["port"]] == _dockerfile_port()
    service = _find(manifests, "Service", "taskql-api")
    assert service["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= set(ports)


def test_the_worker_is_alive_while_its_metrics_port_answers(manifests: list[Manifest]) -> None:
    container = _container(_find(manifests, "Deployment", "taskql-worker"))
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    probe = container["livenessProbe"]["httpGet"]
    assert probe["path"] == "/metrics"
    env = _env(container)
    # The worker serves its metrics on 127.0.0.1 unless told otherwise: the kubelet could not reach it.
    assert env["TASKQL_WORKER_METRICS_HOST"] == "0.0.0.0"  # noqa: S104
    assert ports[probe["port"]] == int(env["TASKQL_WORKER_METRICS_PORT"]) == 9101


def test_the_api_drains_within_its_termination_grace_period(manifests: list[Manifest]) -> None:
    api = _find(manifests, "Deployment", "taskql-api")
    config = _find(manifests, "ConfigMap", "taskql-config")["data"]
    pause = _container(api)["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    needed = int(pause[1]) + int(config["TASKQL_SHUTDOWN_GRACE_SECONDS"])
    assert _pod(api)["terminationGracePeriodSeconds"] > needed


def test_the_cpu_autoscaler_targets_the_api_deployment(manifests: list[Manifest]) -> None:
    autoscaler = _find(manifests, "HorizontalPodAutoscaler", "taskql-api")
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "taskql-api",
    }
    assert [metric["resource"]["name"] for metric in autoscaler["spec"]["metrics"]] == ["cpu"]
    assert autoscaler["spec"]["minReplicas"] >= 2
    # The autoscaler owns the count: a `replicas` in the Deployment would reset it on every apply.
    assert "replicas" not in _find(manifests, "Deployment", "taskql-api")["spec"]


def test_keda_scales_the_worker_deployment_on_every_rq_queue(manifests: list[Manifest]) -> None:
    scaled = _find(manifests, "ScaledObject", "taskql-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "taskql-worker"
    # One worker always: it also runs the cron scheduler and delayed retries.
    assert scaled["spec"]["minReplicaCount"] >= 1
    triggers = scaled["spec"]["triggers"]
    assert {trigger["type"] for trigger in triggers} == {"redis"}
    assert [trigger["metadata"]["listName"] for trigger in triggers] == [
        f"rq:queue:{name}" for name in QUEUE_NAMES
    ]
    for trigger in triggers:
        _find(manifests, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert "replicas" not in _find(manifests, "Deployment", "taskql-worker")["spec"]


def test_each_deployment_has_a_disruption_budget(manifests: list[Manifest]) -> None:
    for name in WORKLOADS["Deployment"]:
        labels = _find(manifests, "Deployment", name)["spec"]["selector"]["matchLabels"]
        budget = _find(manifests, "PodDisruptionBudget", name)
        assert budget["spec"]["selector"]["matchLabels"] == labels


def test_the_ingress_keeps_websockets_open_for_an_hour(manifests: list[Manifest]) -> None:
    ingress = _find(manifests, "Ingress", "taskql")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    assert annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "3600"
    rules = ingress["spec"]["rules"]
    backends = [path["backend"]["service"] for rule in rules for path in rule["http"]["paths"]]
    assert backends == [{"name": "taskql-api", "port": {"name": "http"}}]


def test_settings_come_from_the_configmap_and_a_secret_that_is_not_committed(
    manifests: list[Manifest],
) -> None:
    # No real secret in the repository: the Secret is created out of band; the example lists its keys.
    assert not [m for m in manifests if m["kind"] == "Secret"]
    example = yaml.safe_load((KUBERNETES / "secret.example.yaml").read_text())
    assert all("REPLACE_ME" in value for value in example["stringData"].values())
    known = {f"TASKQL_{field.upper()}" for field in Settings.model_fields} | ENTRYPOINT_VARIABLES
    config = _find(manifests, "ConfigMap", "taskql-config")["data"]
    assert set(config) <= known, set(config) - known
    for name, workload in _workloads(manifests).items():
        container = _container(workload)
        assert container["envFrom"] == [{"configMapRef": {"name": "taskql-config"}}], name
        secret_keys = {
            item["name"]: item["valueFrom"]["secretKeyRef"]
            for item in container["env"]
            if "valueFrom" in item
        }
        # The API alone reads a replica, when the Secret names one.
        optional = {"TASKQL_DATABASE_REPLICA_URL"} if name == "taskql-api" else set()
        assert set(secret_keys) == {
            "TASKQL_DATABASE_URL",
            "TASKQL_REDIS_URL",
            "TASKQL_JWT_SECRET",
            *optional,
        }, name
        for variable, reference in secret_keys.items():
            expected = {"name": example["metadata"]["name"], "key": variable}
            assert reference == expected | ({"optional": True} if variable in optional else {}), name
        assert {v for v in _env(container) if v.startswith("TASKQL_")} <= known, name
    authentication = _find(manifests, "TriggerAuthentication", "taskql-redis")
    for reference in authentication["spec"]["secretTargetRef"]:
        assert reference["key"] in example["stringData"]
