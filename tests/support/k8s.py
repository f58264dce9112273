"""infra/k8s as kustomize renders it, and what the README says about it, for the Kubernetes manifest tests."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from subgraphs.common.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
SERVICES: tuple[str, ...] = ("gateway", *SERVICE_NAMES)
KUSTOMIZE_KEYS = frozenset({"apiVersion", "kind", "namespace", "resources", "configMapGenerator", "images"})

Obj = dict[str, Any]


def render(directory: Path) -> list[Obj]:
    """What ``kubectl kustomize directory`` produces, without the generated names' hash suffixes.

    Only the kustomization features the manifests use are implemented; any other key fails rather than being
    ignored. Generator files must lie below the kustomization's folder, as kustomize requires.
    """
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert set(kustomization) <= KUSTOMIZE_KEYS, f"{directory}: unsupported kustomization keys"
    objects: list[Obj] = []
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


def containers(obj: Obj) -> list[Obj]:
    """The containers (init containers first) of a Deployment; none for other kinds."""
    spec = obj["spec"]["template"]["spec"] if obj["kind"] == "Deployment" else {}
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def container_port(container: Obj, port: int | str) -> int:
    """The container port a probe or Service names (by name or number); fails when there is none."""
    for entry in container["ports"]:
        if port in (entry["containerPort"], entry.get("name")):
            return int(entry["containerPort"])
    raise AssertionError(f"{container['name']} has no port {port!r}")


@dataclass(frozen=True)
class Manifests:
    """The rendered objects, looked up by kind and name (tests read them; copy before changing one)."""

    objects: tuple[Obj, ...]

    def find(self, kind: str, name: str | None = None) -> list[Obj]:
        """Objects of ``kind`` (named ``name``)."""
        return [o for o in self.objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]

    def one(self, kind: str, name: str) -> Obj:
        """The one object of ``kind`` named ``name``."""
        (obj,) = self.find(kind, name)
        return obj

    def pod(self, service: str) -> Obj:
        """The pod spec of Deployment ``service``."""
        return self.one("Deployment", service)["spec"]["template"]["spec"]  # type: ignore[no-any-return]

    def container(self, service: str) -> Obj:
        """The one container of Deployment ``service``."""
        (container,) = self.pod(service)["containers"]
        return container  # type: ignore[no-any-return]

    def literal_env(self, container: Obj) -> dict[str, str]:
        """The environment's literal values (ConfigMaps of envFrom first, then env), as the kubelet builds it."""
        values: dict[str, str] = {}
        for source in container.get("envFrom", []):
            values.update(self.one("ConfigMap", source["configMapRef"]["name"])["data"])
        values.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
        return values

    def env_names(self, container: Obj) -> set[str]:
        """Every variable the container gets, literal or from a Secret."""
        names = {e["name"] for e in container.get("env", [])}
        for source in container.get("envFrom", []):
            names |= set(self.one("ConfigMap", source["configMapRef"]["name"])["data"])
        return names

    def reachable(self, url: str) -> tuple[str, int]:
        """(Service, port) a URL of the configuration reaches; fails unless that Service exposes that port."""
        parts = urlsplit(url)
        host = (parts.hostname or "").removesuffix(".svc.cluster.local").removesuffix(".svc").removesuffix(".dpp")
        ports = [p["port"] for p in self.one("Service", host)["spec"]["ports"]]
        assert parts.port in ports, f"{url}: Service {host} has no such port"
        return host, int(parts.port or 0)

    def probes(self, service: str) -> dict[str, Obj]:
        """The container's probes by kind; readiness and liveness are required."""
        container = self.container(service)
        kinds = ("startupProbe", "readinessProbe", "livenessProbe")
        found: dict[str, Obj] = {k: container[k] for k in kinds if k in container}
        assert {"readinessProbe", "livenessProbe"} <= set(found), f"{service} needs readiness and liveness probes"
        for probe in found.values():
            container_port(container, probe["httpGet"]["port"])
        return found


@functools.cache
def manifests() -> Manifests:
    """infra/k8s, rendered once per test session."""
    return Manifests(tuple(render(K8S)))


def readme() -> str:
    """The README as it is now (other work edits it during a session)."""
    return (ROOT / "README.md").read_text(encoding="utf-8")


def readme_section(title: str) -> str:
    """The body of the README's ``## title`` section."""
    match = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", readme(), re.MULTILINE | re.DOTALL)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def documented_variable(name: str) -> bool:
    """Whether a configuration table of the README (not its Kubernetes section) names variable ``name``."""
    text = readme().replace(readme_section("Kubernetes"), "")
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
    """A Kubernetes resource quantity (``250m``, ``512Mi``, ``1``) as a number."""
    text = str(value)
    for suffix, factor in (("m", 1e-3), ("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def strip_generated_hashes(text: str, names: Iterator[str] | list[str]) -> str:
    """kustomize output with ``name-<hash>`` of each generated ConfigMap (and every reference) back to ``name``."""
    for name in names:
        text, count = re.subn(rf"\b{re.escape(name)}-[a-z0-9]{{10}}\b", name, text)
        assert count, f"kustomize did not generate {name}"
    return text
