"""Reading composition configs: a JSON list of subgraphs, or a ``supergraph.yaml``.

JSON: ``[{"name": ..., "url": ..., "sdl": ...}]``; without ``sdl`` the schema is
fetched from ``url`` with ``{ _service { sdl } }``.

YAML (the Rover ``supergraph.yaml`` shape)::

    subgraphs:
      identity:
        routing_url: http://127.0.0.1:4001/graphql
        schema:
          file: subgraphs/identity.graphql     # relative to the YAML file
      catalog:
        routing_url: http://127.0.0.1:4002/graphql
        schema:
          subgraph_url: http://127.0.0.1:4002/graphql   # introspected with _service
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from .subgraph_model import SubgraphSource

SERVICE_QUERY = "{ _service { sdl } }"


class ConfigError(Exception):
    """The config cannot be read, or a subgraph's schema cannot be obtained."""


@dataclass(frozen=True, slots=True)
class SubgraphEntry:
    """A subgraph as a config names it; ``sdl`` is None until fetched from ``fetch_url``."""

    name: str
    url: str
    sdl: str | None
    fetch_url: str | None = None


def fetch_sdl(url: str, timeout: float = 10.0) -> str:
    """Ask a running subgraph for its SDL (``{ _service { sdl } }``)."""
    try:
        resp = httpx.post(url, json={"query": SERVICE_QUERY}, timeout=timeout)
        resp.raise_for_status()
        body = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ConfigError(f"cannot fetch the schema from {url}: {exc}") from exc
    sdl = (((body or {}).get("data") or {}).get("_service") or {}).get("sdl")
    if not isinstance(sdl, str):
        raise ConfigError(f"{url} did not answer _service {{ sdl }}: {json.dumps(body)[:200]}")
    return sdl


def parse_config(text: str, base_dir: Path) -> list[SubgraphEntry]:
    """Read a JSON or YAML config's entries without fetching anything."""
    stripped = text.lstrip()
    data: Any
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON config: {exc}") from exc
        return _from_json(data)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML config: {exc}") from exc
    if isinstance(data, list):
        return _from_json(data)
    return _from_yaml(data, base_dir)


def _from_json(data: list[Any]) -> list[SubgraphEntry]:
    out: list[SubgraphEntry] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("url"), str):
            raise ConfigError(f"entry {i}: expected an object with string 'name' and 'url'")
        sdl = item.get("sdl")
        if sdl is not None and not isinstance(sdl, str):
            raise ConfigError(f"entry {i} ({item['name']}): 'sdl' must be a string")
        out.append(SubgraphEntry(item["name"], item["url"], sdl, None if sdl is not None else item["url"]))
    return out


def _from_yaml(data: Any, base_dir: Path) -> list[SubgraphEntry]:
    if not isinstance(data, dict) or not isinstance(data.get("subgraphs"), dict):
        raise ConfigError("a YAML config needs a 'subgraphs' mapping")
    out: list[SubgraphEntry] = []
    for name, spec in data["subgraphs"].items():
        if not isinstance(spec, dict):
            raise ConfigError(f"subgraph {name}: expected a mapping")
        schema = spec.get("schema") or {}
        if not isinstance(schema, dict):
            raise ConfigError(f"subgraph {name}: 'schema' must be a mapping")
        routing = spec.get("routing_url") or schema.get("subgraph_url")
        if not isinstance(routing, str):
            raise ConfigError(f"subgraph {name}: 'routing_url' is required")
        if "file" in schema:
            path = (base_dir / str(schema["file"])).resolve()
            try:
                sdl = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"subgraph {name}: cannot read {path}: {exc.strerror}") from exc
            out.append(SubgraphEntry(str(name), routing, sdl))
        elif "subgraph_url" in schema:
            out.append(SubgraphEntry(str(name), routing, None, str(schema["subgraph_url"])))
        else:
            raise ConfigError(f"subgraph {name}: 'schema' needs 'file' or 'subgraph_url'")
    return out


def load_config(path: str | Path) -> list[SubgraphSource]:
    """Read a config file and return every subgraph with its SDL (fetching where needed)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {p}: {exc.strerror}") from exc
    entries = parse_config(text, p.parent)
    return [
        SubgraphSource(e.name, e.url, e.sdl if e.sdl is not None else fetch_sdl(str(e.fetch_url))) for e in entries
    ]
