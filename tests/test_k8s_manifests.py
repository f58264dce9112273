"""infra/k8s cannot be applied here (no cluster), so render it as kustomize would, validate every object against
the Kubernetes JSON schemas of a pinned version (kubernetes-validate bundles them: no network), and check that the
manifests hold together with the code: probes on paths the apps serve, ports, selectors, autoscaler targets,
ConfigMap and Secret references, settings the README documents, the image's user and entry points."""

from __future__ import annotations

import base64
import copy
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import kubernetes_validate
import pytest
import yaml

from gateway.serve import build_app
from gateway.settings import Settings as GatewaySettings
from subgraphs.common.app import create_app
from subgraphs.common.settings import SERVICE_NAMES, SERVICE_PORTS, Settings
from subgraphs.identity.keys import KeyStore
from subgraphs.registry import load_definition
from tests.support.client import gql
from tests.support.servers import ServerThread
from tests.support.subgraphs import running_subgraph

KUBERNETES_VERSION = "1.33"  # the schemas the manifests are validated against
ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "infra" / "k8s"
README = (ROOT / "README.md").read_text(encoding="utf-8")
SERVICES = ("gateway", *SERVICE_NAMES)
KUSTOMIZE_KEYS = {"apiVersion", "kind", "namespace", "resources", "configMapGenerator", "images"}
SECRETISH = re.compile(r"DATABASE_URL|REDIS_URL|SECRET|PASSWORD|TOKEN(?!_TTL)|_KEY\b", re.IGNORECASE)


def render(directory: Path) -> list[dict[str, Any]]:
    """What ``kubectl kustomize directory`` produces, without the generated names' hash suffixes.

    Only the kustomization features the manifests use are implemented; any other key fails the test rather than
    being ignored. Generator files must lie below the kustomization's folder, as kustomize requires.
    """
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert set(kustomization) <= KUSTOMIZE_KEYS, f"{directory}: unsupported kustomization keys"
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            objects += render(path)
        else:
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for generator in kustomization.get("configMapGenerator", []):
        assert set(generator) <= {"name", "files", "literals"}, generator
        data: dict[str, str] = {}
        for spec in generator.get("files", []):
            key, _, name = spec.rpartition("=")
            file = (directory / name).resolve()
            assert file.is_relative_to(directory.resolve()), f"kustomize refuses {file}: not below {directory}"
            assert file.is_file(), f"{directory}: generator file {name} is missing"
            data[key or file.name] = file.read_text()
        for literal in generator.get("literals", []):
            key, _, value = literal.partition("=")
            data[key] = value
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data})
    for obj in objects:
        if "namespace" in kustomization and obj["kind"] != "Namespace":
            obj["metadata"]["namespace"] = kustomization["namespace"]
        for image in kustomization.get("images", []):
            for container in containers(obj):
                if container["image"] == image["name"]:
                    container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return objects


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"] if obj["kind"] == "Deployment" else {}


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod_spec(obj).get("initContainers", []), *pod_spec(obj).get("containers", [])]


OBJECTS = render(K8S)


def find(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in OBJECTS if o["kind"] == kind and name in (None, o["metadata"]["name"])]


def one(kind: str, name: str) -> dict[str, Any]:
    (obj,) = find(kind, name)
    return obj


def container_of(service: str) -> dict[str, Any]:
    (container,) = one("Deployment", service)["spec"]["template"]["spec"]["containers"]
    return container


def container_port(container: dict[str, Any], port: int | str) -> int:
    """The container port a probe or Service names (by name or number); fails when there is none."""
    for entry in container["ports"]:
        if port in (entry["containerPort"], entry.get("name")):
            return int(entry["containerPort"])
    raise AssertionError(f"{container['name']} has no port {port!r}")


def literal_env(container: dict[str, Any]) -> dict[str, str]:
    """The environment's literal values (ConfigMaps of envFrom first, then env), as the kubelet builds it."""
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        values.update(one("ConfigMap", source["configMapRef"]["name"])["data"])
    values.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return values


def env_names(container: dict[str, Any]) -> set[str]:
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        names |= set(one("ConfigMap", source["configMapRef"]["name"])["data"])
    return names


def readme_section(title: str) -> str:
    match = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def documented_variable(name: str) -> bool:
    """Whether a configuration table of the README (not the Kubernetes section) names variable ``name``."""
    text = README.replace(readme_section("Kubernetes"), "")
    rows = [line for line in text.splitlines() if line.startswith("|")]
    tokens = {t for row in rows for t in re.findall(r"`((?:<NAME>|[A-Z])[A-Z0-9_]*(?:<NAME>[A-Z0-9_]*)*)`", row)}
    names = "|".join(n.upper() for n in SERVICE_NAMES)
    return any(re.fullmatch(re.escape(t).replace("<NAME>", f"(?:{names})"), name) for t in tokens)


def documented_secrets() -> dict[str, set[str]]:
    """Secret name -> keys, from the ``kubectl create secret generic`` commands of the README's Kubernetes section."""
    text = readme_section("Kubernetes").replace("\\\n", " ")
    secrets: dict[str, set[str]] = {}
    for line in text.splitlines():
        match = re.search(r"create secret generic ([a-z0-9-]+)", line)
        if match:
            keys = re.findall(r"--from-(?:literal|file)=([A-Za-z0-9._-]+)=", line)
            secrets.setdefault(match.group(1), set()).update(keys)
    return secrets


def quantity(value: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    text = str(value)
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def reachable(url: str) -> tuple[str, int]:
    """(Service, port) a URL of the configuration reaches; fails unless that Service exposes that port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removesuffix(".svc.cluster.local").removesuffix(".dpp").removesuffix(".svc")
    service = one("Service", host)
    assert parts.port in [p["port"] for p in service["spec"]["ports"]], f"{url}: Service {host} has no such port"
    return host, int(parts.port or 0)


# --- schemas -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_every_object_validates_against_the_kubernetes_schemas(obj: dict[str, Any]) -> None:
    assert kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION


def test_the_validator_refuses_what_a_cluster_would() -> None:
    broken = copy.deepcopy(one("Deployment", "gateway"))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pathh"] = "/health"
    with pytest.raises(kubernetes_validate.ValidationError, match="pathh"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    broken = copy.deepcopy(one("HorizontalPodAutoscaler", "gateway"))
    broken["spec"]["minReplicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_service_has_its_objects_in_the_namespace() -> None:
    (namespace,) = find("Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for service in SERVICES:
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            assert one(kind, service)["metadata"]["namespace"] == namespace["metadata"]["name"]
    assert not find("Secret"), "secret values never live in the manifests"


def test_the_supergraph_configmap_is_generated_from_the_checked_in_file() -> None:
    assert one("ConfigMap", "dpp-supergraph")["data"] == {
        "supergraph.graphql": (ROOT / "schema" / "supergraph.graphql").read_text()
    }
    assert not list(K8S.rglob("*.graphql")), "the supergraph is generated from schema/, not copied"


# --- behaviour -----------------------------------------------------------------------------------------------------


def probes(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {
        k: container[k] for k in ("startupProbe", "readinessProbe", "livenessProbe") if k in container
    }
    assert {"readinessProbe", "livenessProbe"} <= set(found), f"{container['name']} needs readiness and liveness"
    return found


def assert_probes_answer(container: dict[str, Any], base_url: str) -> None:
    for kind, probe in probes(container).items():
        container_port(container, probe["httpGet"]["port"])
        response = httpx.get(base_url + probe["httpGet"]["path"], timeout=10)
        assert response.status_code == 200, f"{container['name']} {kind} {probe['httpGet']['path']}: {response}"


def gateway_settings(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    """The settings the gateway pod reads: the generated ConfigMap's file, as mounted."""
    ((key, text),) = one("ConfigMap", "dpp-gateway-config")["data"].items()
    (tmp_path / key).write_text(text)
    return GatewaySettings.load(tmp_path / key, environ={}, **overrides)


def test_gateway_probes_answer_on_the_real_gateway(tmp_path: Path) -> None:
    supergraph = str(ROOT / "schema" / "supergraph.graphql")
    settings = gateway_settings(tmp_path, supergraph=supergraph, host="127.0.0.1", port=0)
    with ServerThread(build_app(settings)) as server:
        assert_probes_answer(container_of("gateway"), server.url)
    readiness = probes(container_of("gateway"))["readinessProbe"]["httpGet"]["path"]
    assert readiness == "/health/ready"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_subgraph_probes_answer_on_the_real_subgraph(name: str, tmp_path: Path) -> None:
    settings = Settings(service=name, database_url=f"sqlite+aiosqlite:///{tmp_path}/{name}.db", data_dir=tmp_path)
    with ServerThread(create_app(load_definition(name), settings)) as server:
        assert_probes_answer(container_of(name), server.url)


def test_containers_run_the_image_entry_points_with_their_settings(tmp_path: Path) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name in SERVICE_NAMES:
        assert container_of(name)["command"] == ["dpp-subgraph", name]
    command = container_of("gateway")["command"]
    assert command[:2] == ["gateway", "serve"] and {c["command"][0] for c in map(container_of, SERVICES)} <= set(
        scripts
    )
    config = Path(command[command.index("--config") + 1])
    mounts = {m["mountPath"]: m["name"] for m in container_of("gateway")["volumeMounts"]}
    volumes = {v["name"]: v for v in one("Deployment", "gateway")["spec"]["template"]["spec"]["volumes"]}
    assert config.name in one("ConfigMap", volumes[mounts[str(config.parent)]]["configMap"]["name"])["data"]
    settings = gateway_settings(tmp_path)
    assert settings.supergraph is not None and settings.port == container_port(container_of("gateway"), "http")
    assert settings.host == "0.0.0.0" and not settings.development
    supergraph_map = one("ConfigMap", volumes[mounts[str(settings.supergraph.parent)]]["configMap"]["name"])
    assert settings.supergraph.name in supergraph_map["data"]
    pre_stop = int(container_of("gateway")["lifecycle"]["preStop"]["exec"]["command"][-1])
    grace = one("Deployment", "gateway")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert pre_stop + settings.shutdown_timeout < grace


def test_configured_urls_reach_services_and_ports_line_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = gateway_settings(tmp_path)
    assert {name: reachable(url) for name, url in settings.subgraph_urls.items()} == {
        name: (name, port) for name, port in SERVICE_PORTS.items()
    }
    assert reachable(settings.auth_context_url or "") == ("identity", SERVICE_PORTS["identity"])
    assert all(reachable(issuer.issuer) for issuer in settings.auth_issuers)
    for name in SERVICE_NAMES:
        env = literal_env(container_of(name))
        for variable in ("IDENTITY_URL", "CATALOG_URL", "TEMPLATES_URL", "PASSPORT_URL", "ISSUER_URL"):
            reachable(env[variable])
        for issuer in env.get("OIDC_ISSUERS", "").split(","):
            reachable(issuer)
        for variable in [v for v in env_names(container_of(name)) if v not in env]:
            monkeypatch.delenv(variable, raising=False)
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        subgraph = Settings.from_env(name)
        assert (subgraph.host, subgraph.port) == ("0.0.0.0", container_port(container_of(name), "http"))
        assert subgraph.environment == "production" and env["SEED"] == "0"
        assert settings.auth_issuers[0].issuer == subgraph.issuer_url
    for service in SERVICES:
        (port,) = one("Service", service)["spec"]["ports"]
        assert port["port"] == container_port(container_of(service), port["targetPort"])


def test_selectors_hpas_and_pdbs_match_their_deployments() -> None:
    deployments = {d["metadata"]["name"]: d for d in find("Deployment")}
    for service in SERVICES:
        deployment = deployments[service]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        for selector in (
            one("Service", service)["spec"]["selector"],
            one("PodDisruptionBudget", service)["spec"]["selector"]["matchLabels"],
        ):
            selected = [
                n
                for n, d in deployments.items()
                if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
            ]
            assert selected == [service], f"{service}: selector {selector} selects {selected}"
        hpa = one("HorizontalPodAutoscaler", service)["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
        assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
        assert "replicas" not in deployment["spec"], "the HorizontalPodAutoscaler owns the replica count"
        pdb = one("PodDisruptionBudget", service)["spec"]
        assert pdb["minAvailable"] < hpa["minReplicas"] <= hpa["maxReplicas"], "a drain must be able to evict"


def test_resources_and_restricted_security_context() -> None:
    uid = int(re.search(r"--uid (\d+)", (ROOT / "Dockerfile").read_text()).group(1))  # type: ignore[union-attr]
    for service in SERVICES:
        spec = one("Deployment", service)["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["runAsUser"] == uid
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        assert all({"configMap", "secret", "emptyDir"} & set(v) for v in spec["volumes"])
        for container in containers(one("Deployment", service)):
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
    for obj in find("Service"):
        prefix = obj["metadata"]["name"].upper().replace("-", "_")
        injected |= {f"{prefix}_PORT", f"{prefix}_SERVICE_HOST", f"{prefix}_SERVICE_PORT"}
        for port in obj["spec"]["ports"]:
            injected |= {f"{prefix}_PORT_{port['port']}_TCP", f"{prefix}_SERVICE_PORT_{port['name'].upper()}"}
    shadowed = {name for name in injected if documented_variable(name)}
    assert shadowed, "the README documents IDENTITY_PORT, GATEWAY_PORT: this check has nothing to check"
    for service in SERVICES:
        assert one("Deployment", service)["spec"]["template"]["spec"]["enableServiceLinks"] is False, shadowed


def test_every_variable_is_documented_and_secrets_come_from_secrets() -> None:
    undocumented = {f"{s}: {n}" for s in SERVICES for n in env_names(container_of(s)) if not documented_variable(n)}
    assert not undocumented, f"variables set that the README does not document: {sorted(undocumented)}"
    for service in SERVICES:
        container = container_of(service)
        for name, value in literal_env(container).items():
            assert not SECRETISH.search(name), f"{service}: {name}={value!r} must come from a Secret"
        for entry in container.get("env", []):
            assert set(entry) in ({"name", "value"}, {"name", "valueFrom"}), entry


def test_every_referenced_configmap_and_secret_key_exists_or_is_documented() -> None:
    documented = documented_secrets()
    for service in SERVICES:
        spec = one("Deployment", service)["spec"]["template"]["spec"]
        for volume in spec["volumes"]:
            if "configMap" in volume:
                data = one("ConfigMap", volume["configMap"]["name"])["data"]
                assert {i["key"] for i in volume["configMap"].get("items", [])} <= set(data)
            if "secret" in volume:
                keys = {i["key"] for i in volume["secret"]["items"]}
                assert keys <= documented.get(volume["secret"]["secretName"], set()), volume
        for container in containers(one("Deployment", service)):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    assert ref["key"] in documented.get(ref["name"], set()), f"README: create secret {ref}"
                assert "configMapKeyRef" not in entry.get("valueFrom", {}), "use envFrom"
        mounted = {m["name"] for c in containers(one("Deployment", service)) for m in c.get("volumeMounts", [])}
        assert mounted == {v["name"] for v in spec["volumes"]}


def test_identity_signs_with_the_mounted_key_and_writes_nothing_there(tmp_path: Path) -> None:
    """Identity's DATA_DIR is the read-only mount of Secret dpp-identity-keys: made once with ``dpp-keys``, it
    is only read: the pod signs with that key, publishes it, and creates no file there."""
    container, spec = container_of("identity"), one("Deployment", "identity")["spec"]["template"]["spec"]
    data_dir = literal_env(container)["DATA_DIR"]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == data_dir]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert mount["readOnly"] and volume["secret"]["defaultMode"] == 0o440
    keys_dir = tmp_path / "secret"
    kid = KeyStore(keys_dir, retain_seconds=360).current().kid  # what the README's dpp-keys step produces
    (item,) = volume["secret"]["items"]
    assert item["path"] == KeyStore(keys_dir, retain_seconds=360).path.name
    before = {p.name: p.stat().st_mtime_ns for p in keys_dir.iterdir()}
    keys_dir.chmod(0o555)
    with running_subgraph("identity", f"sqlite+aiosqlite:///{tmp_path}/identity.db", data_dir=keys_dir) as server:
        jwks = httpx.get(server.url + "/.well-known/jwks.json", timeout=10).json()
        body = gql(
            server.url + "/graphql",
            'mutation { login(email: "admin@acme.example", password: "Acme-Admin-2026") { accessToken } }',
        )
    header = json.loads(base64.urlsafe_b64decode(body["data"]["login"]["accessToken"].split(".")[0] + "=="))
    assert header["kid"] == kid and [k["kid"] for k in jwks["keys"]] == [kid]
    assert {p.name: p.stat().st_mtime_ns for p in keys_dir.iterdir()} == before


def kubectl_render() -> Iterator[dict[str, Any]]:
    generated = [o["metadata"]["name"] for o in find("ConfigMap")]
    text = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    for name in generated:  # kustomize appends a content hash to generated names and to every reference
        text, count = re.subn(rf"\b{name}-[a-z0-9]{{10}}\b", name, text)
        assert count, f"kustomize did not generate {name}"
    yield from yaml.safe_load_all(text)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) not installed")
def test_the_expansion_here_matches_kustomize() -> None:
    def key(obj: dict[str, Any]) -> tuple[str, str]:
        return obj["kind"], obj["metadata"]["name"]

    assert sorted(kubectl_render(), key=key) == sorted(OBJECTS, key=key)
