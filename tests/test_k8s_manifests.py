"""infra/k8s cannot be applied here (no cluster), so render it as kustomize would, validate every object against
the Kubernetes JSON schemas of a pinned version (kubernetes-validate bundles them: no network), and check that the
manifests hold together with the code: ports, selectors, autoscaler targets, ConfigMap and Secret references,
settings the README documents, the image's user and entry points. tests/test_k8s_pods.py runs what the pods run."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from gateway.settings import Settings as GatewaySettings
from subgraphs.common.settings import SERVICE_NAMES, SERVICE_PORTS, Settings
from tests.support.k8s import (
    K8S,
    ROOT,
    SERVICES,
    container_port,
    containers,
    documented_secrets,
    documented_variable,
    manifests,
    quantity,
    strip_generated_hashes,
)

KUBERNETES_VERSION = "1.33"  # the schemas the manifests are validated against
SECRETISH = re.compile(r"DATABASE_URL|REDIS_URL|SECRET|PASSWORD|TOKEN(?!_TTL)|_KEY\b", re.IGNORECASE)
M = manifests()


def gateway_settings(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    """The settings the gateway pod reads: the generated ConfigMap's file, as mounted."""
    ((key, text),) = M.one("ConfigMap", "dpp-gateway-config")["data"].items()
    (tmp_path / key).write_text(text)
    return GatewaySettings.load(tmp_path / key, environ={}, **overrides)


# --- schemas -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", M.objects, ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_every_object_validates_against_the_kubernetes_schemas(obj: dict[str, Any]) -> None:
    assert kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION


def test_the_validator_refuses_what_a_cluster_would() -> None:
    broken = copy.deepcopy(M.one("Deployment", "gateway"))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pathh"] = "/health"
    with pytest.raises(kubernetes_validate.ValidationError, match="pathh"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    broken = copy.deepcopy(M.one("HorizontalPodAutoscaler", "gateway"))
    broken["spec"]["minReplicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) not installed")
def test_the_expansion_here_matches_kustomize() -> None:
    text = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    rendered = yaml.safe_load_all(strip_generated_hashes(text, [o["metadata"]["name"] for o in M.find("ConfigMap")]))

    def key(obj: dict[str, Any]) -> tuple[str, str]:
        return obj["kind"], obj["metadata"]["name"]

    assert sorted(rendered, key=key) == sorted(M.objects, key=key)


# --- structure -----------------------------------------------------------------------------------------------------


def test_every_service_has_its_objects_in_the_namespace() -> None:
    (namespace,) = M.find("Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for service in SERVICES:
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            assert M.one(kind, service)["metadata"]["namespace"] == namespace["metadata"]["name"]
    assert not M.find("Secret"), "secret values never live in the manifests"


def test_the_supergraph_configmap_is_generated_from_the_checked_in_file() -> None:
    supergraph = (ROOT / "schema" / "supergraph.graphql").read_text()
    assert M.one("ConfigMap", "dpp-supergraph")["data"] == {"supergraph.graphql": supergraph}
    assert not list(K8S.rglob("*.graphql")), "the supergraph is generated from schema/, not copied"


def test_containers_run_the_image_entry_points_with_their_settings(tmp_path: Path) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name in SERVICE_NAMES:
        assert M.container(name)["command"] == ["dpp-subgraph", name]
    command = M.container("gateway")["command"]
    assert command[:2] == ["gateway", "serve"]
    assert {M.container(s)["command"][0] for s in SERVICES} <= set(scripts)
    config = Path(command[command.index("--config") + 1])
    mounts = {m["mountPath"]: m["name"] for m in M.container("gateway")["volumeMounts"]}
    volumes = {v["name"]: v for v in M.pod("gateway")["volumes"]}
    assert config.name in M.one("ConfigMap", volumes[mounts[str(config.parent)]]["configMap"]["name"])["data"]
    settings = gateway_settings(tmp_path)
    assert settings.supergraph is not None and settings.port == container_port(M.container("gateway"), "http")
    assert settings.host == "0.0.0.0" and not settings.development
    supergraph_map = M.one("ConfigMap", volumes[mounts[str(settings.supergraph.parent)]]["configMap"]["name"])
    assert settings.supergraph.name in supergraph_map["data"]
    pre_stop = int(M.container("gateway")["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pre_stop + settings.shutdown_timeout < M.pod("gateway")["terminationGracePeriodSeconds"]


def test_the_image_holds_every_package_of_the_project() -> None:
    """The pods run the image the Dockerfile builds; its ``pip install --no-deps .`` installs what was copied."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    copied = set(re.findall(r"^COPY (\S+) \./", dockerfile, re.MULTILINE))
    assert {p.rstrip("*") for p in packages["include"]} <= copied


def test_configured_urls_reach_services_and_ports_line_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = gateway_settings(tmp_path)
    assert {name: M.reachable(url) for name, url in settings.subgraph_urls.items()} == {
        name: (name, port) for name, port in SERVICE_PORTS.items()
    }
    assert M.reachable(settings.auth_context_url or "") == ("identity", SERVICE_PORTS["identity"])
    assert all(M.reachable(issuer.issuer) for issuer in settings.auth_issuers)
    for name in SERVICE_NAMES:
        env = M.literal_env(M.container(name))
        for variable in ("IDENTITY_URL", "CATALOG_URL", "TEMPLATES_URL", "PASSPORT_URL", "ISSUER_URL"):
            M.reachable(env[variable])
        for issuer in env.get("OIDC_ISSUERS", "").split(","):
            M.reachable(issuer)
        with monkeypatch.context() as patch:
            for variable in M.env_names(M.container(name)) | {f"{n.upper()}_PORT" for n in SERVICE_NAMES}:
                patch.delenv(variable, raising=False)
            for variable, value in env.items():
                patch.setenv(variable, value)
            subgraph = Settings.from_env(name)
        assert (subgraph.host, subgraph.port) == ("0.0.0.0", container_port(M.container(name), "http"))
        assert subgraph.environment == "production" and env["SEED"] == "0"
        assert settings.auth_issuers[0].issuer == subgraph.issuer_url
    for service in SERVICES:
        (port,) = M.one("Service", service)["spec"]["ports"]
        assert port["port"] == container_port(M.container(service), port["targetPort"])


def test_selectors_hpas_and_pdbs_match_their_deployments() -> None:
    deployments = {d["metadata"]["name"]: d for d in M.find("Deployment")}
    for service in SERVICES:
        deployment = deployments[service]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        for selector in (
            M.one("Service", service)["spec"]["selector"],
            M.one("PodDisruptionBudget", service)["spec"]["selector"]["matchLabels"],
        ):
            pods = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}
            selected = [n for n, pod_labels in pods.items() if selector.items() <= pod_labels.items()]
            assert selected == [service], f"{service}: selector {selector} selects {selected}"
        hpa = M.one("HorizontalPodAutoscaler", service)["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
        assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
        assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns the replica count"
        pdb = M.one("PodDisruptionBudget", service)["spec"]
        assert pdb["minAvailable"] < hpa["minReplicas"] <= hpa["maxReplicas"], "a drain must be able to evict"


def test_resources_and_restricted_security_context() -> None:
    uid = int(re.search(r"--uid (\d+)", (ROOT / "Dockerfile").read_text()).group(1))  # type: ignore[union-attr]
    for service in SERVICES:
        spec = M.pod(service)
        assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["runAsUser"] == uid
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        assert all({"configMap", "secret", "emptyDir"} & set(v) for v in spec["volumes"])
        for container in containers(M.one("Deployment", service)):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
            assert security["capabilities"] == {"drop": ["ALL"]}
            resources = container["resources"]
            for what in ("cpu", "memory"):
                assert 0 < quantity(resources["requests"][what]) <= quantity(resources["limits"][what])


def test_service_links_cannot_shadow_settings() -> None:
    """Kubernetes injects ``<SERVICE>_PORT=tcp://...`` and friends for every Service unless told not to;
    ``IDENTITY_PORT`` and ``GATEWAY_PORT`` are settings the processes would read and fail on."""
    injected: set[str] = set()
    for obj in M.find("Service"):
        prefix = obj["metadata"]["name"].upper().replace("-", "_")
        injected |= {f"{prefix}_PORT", f"{prefix}_SERVICE_HOST", f"{prefix}_SERVICE_PORT"}
        for port in obj["spec"]["ports"]:
            injected |= {f"{prefix}_PORT_{port['port']}_TCP", f"{prefix}_SERVICE_PORT_{port['name'].upper()}"}
    shadowed = {name for name in injected if documented_variable(name)}
    assert shadowed, "the README documents IDENTITY_PORT, GATEWAY_PORT: this check has nothing to check"
    for service in SERVICES:
        assert M.pod(service)["enableServiceLinks"] is False, shadowed


def test_every_variable_is_documented_and_secrets_come_from_secrets() -> None:
    undocumented = {f"{s}: {n}" for s in SERVICES for n in M.env_names(M.container(s)) if not documented_variable(n)}
    assert not undocumented, f"variables set that the README does not document: {sorted(undocumented)}"
    for service in SERVICES:
        container = M.container(service)
        for name, value in M.literal_env(container).items():
            assert not SECRETISH.search(name), f"{service}: {name}={value!r} must come from a Secret"
        for entry in container.get("env", []):
            assert set(entry) in ({"name", "value"}, {"name", "valueFrom"}), entry


def test_every_referenced_configmap_and_secret_key_exists_or_is_documented() -> None:
    documented = documented_secrets()
    for service in SERVICES:
        spec = M.pod(service)
        for volume in spec["volumes"]:
            if "configMap" in volume:
                data = M.one("ConfigMap", volume["configMap"]["name"])["data"]
                assert {i["key"] for i in volume["configMap"].get("items", [])} <= set(data)
            if "secret" in volume:
                keys = {i["key"] for i in volume["secret"]["items"]}
                assert keys <= documented.get(volume["secret"]["secretName"], set()), volume
        for container in containers(M.one("Deployment", service)):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    assert ref["key"] in documented.get(ref["name"], set()), f"README: create secret {ref}"
                assert "configMapKeyRef" not in entry.get("valueFrom", {}), "use envFrom"
        mounted = {m["name"] for c in containers(M.one("Deployment", service)) for m in c.get("volumeMounts", [])}
        assert mounted == {v["name"] for v in spec["volumes"]}
