"""The gateway server's settings: one object, built from defaults, a YAML file,
the environment and command-line flags, in that order of precedence (later wins).

YAML file (every key optional)::

    supergraph: schema/supergraph.graphql
    host: 0.0.0.0
    port: 4000
    development: false          # enables the x-gateway-debug-plan request header
    max_body_bytes: 1048576
    poll_interval: 2.0          # seconds between supergraph file checks; 0 disables hot reload
    default_timeout: 30.0       # seconds, per subgraph request, unless the subgraph sets its own
    max_connections: 100        # pooled keep-alive connections per subgraph host
    forward_headers: [authorization, x-request-id]
    log_level: info
    shutdown_timeout: 30.0      # seconds in-flight requests get to finish on SIGTERM / Ctrl-C
    subgraphs:
      catalog:
        url: http://catalog:8002/graphql
        timeout: 5.0

Environment (``GATEWAY_CONFIG`` names the YAML file for ``gateway serve``):
``GATEWAY_SUPERGRAPH``, ``GATEWAY_HOST``, ``GATEWAY_PORT``, ``GATEWAY_DEVELOPMENT``,
``GATEWAY_MAX_BODY_BYTES``, ``GATEWAY_POLL_INTERVAL``, ``GATEWAY_DEFAULT_TIMEOUT``,
``GATEWAY_MAX_CONNECTIONS``, ``GATEWAY_FORWARD_HEADERS`` (comma separated),
``GATEWAY_LOG_LEVEL``, ``GATEWAY_SHUTDOWN_TIMEOUT``, and per subgraph
``GATEWAY_SUBGRAPH_<NAME>_URL`` / ``GATEWAY_SUBGRAPH_<NAME>_TIMEOUT`` (``NAME`` is the
subgraph name upper-cased; a name with ``-`` in it can only be set in the YAML file).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_FORWARD_HEADERS: tuple[str, ...] = ("authorization", "x-request-id")

_SUBGRAPH_ENV = re.compile(r"^GATEWAY_SUBGRAPH_(?P<name>[A-Z0-9_]+)_(?P<what>URL|TIMEOUT)$")
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting has a value the gateway cannot use; the message names the setting."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``gateway serve`` needs to know, immutable once built."""

    supergraph: Path | None = None
    host: str = "127.0.0.1"
    port: int = 4000
    development: bool = False
    max_body_bytes: int = 1_048_576
    poll_interval: float = 2.0
    default_timeout: float = 30.0
    max_connections: int = 100
    forward_headers: tuple[str, ...] = DEFAULT_FORWARD_HEADERS
    subgraph_urls: Mapping[str, str] = field(default_factory=dict)
    subgraph_timeouts: Mapping[str, float] = field(default_factory=dict)
    log_level: str = "info"
    shutdown_timeout: float = 30.0

    def timeout_for(self, subgraph: str) -> float:
        """The request timeout, in seconds, for one subgraph."""
        return self.subgraph_timeouts.get(subgraph, self.default_timeout)

    @classmethod
    def load(
        cls,
        config: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Build settings from defaults, then ``config`` (YAML), then ``environ``, then
        ``overrides`` (command-line flags; ``None`` values are ignored).

        ``environ`` defaults to ``os.environ``; tests pass their own mapping.
        A relative supergraph path in the YAML file is taken relative to that file.
        """
        values: dict[str, Any] = {}
        layers = [_from_yaml(Path(config)) if config is not None else {}]
        layers.append(_from_env(os.environ if environ is None else environ))
        layers.append({k: v for k, v in overrides.items() if v is not None})
        for layer in layers:
            for key, value in layer.items():
                if key in ("subgraph_urls", "subgraph_timeouts") and isinstance(value, Mapping):
                    # Per-subgraph entries merge, so the environment can override one URL
                    # without repeating the file's others.
                    values[key] = {**values.get(key, {}), **value}
                else:
                    values[key] = value
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Validate and coerce a flat mapping of setting names to values."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for name, value in values.items():
            kwargs[name] = _coerce(name, value)
        settings = cls(**kwargs)
        if not 0 <= settings.port <= 65535:
            raise SettingsError(f"port: {settings.port} is not a TCP port")
        if settings.max_body_bytes <= 0:
            raise SettingsError("max_body_bytes: must be positive")
        if settings.poll_interval < 0:
            raise SettingsError("poll_interval: must be 0 (off) or positive")
        if settings.default_timeout <= 0 or any(t <= 0 for t in settings.subgraph_timeouts.values()):
            raise SettingsError("timeouts must be positive")
        if settings.log_level not in _LOG_LEVELS:
            raise SettingsError(f"log_level: must be one of {', '.join(_LOG_LEVELS)}")
        if settings.shutdown_timeout < 0:
            raise SettingsError("shutdown_timeout: must not be negative")
        if settings.max_connections <= 0:
            raise SettingsError("max_connections: must be positive")
        return settings


def _coerce(name: str, value: Any) -> Any:
    try:
        if name == "supergraph":
            return None if value in (None, "") else Path(value)
        if name in ("port", "max_body_bytes", "max_connections"):
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if name in ("poll_interval", "default_timeout", "shutdown_timeout"):
            return float(value)
        if name == "development":
            return _bool(value)
        if name == "forward_headers":
            items = value.split(",") if isinstance(value, str) else list(value)
            # HTTP header names are case-insensitive; keep them lower-case once, here.
            return tuple(dict.fromkeys(str(h).strip().lower() for h in items if str(h).strip()))
        if name == "subgraph_urls":
            return {str(k): str(v) for k, v in dict(value).items()}
        if name == "subgraph_timeouts":
            return {str(k): float(v) for k, v in dict(value).items()}
        if name == "log_level":
            return str(value).lower()
        if name == "host":
            return str(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{name}: cannot use {value!r}") from exc
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(value)


def _from_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"config file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"config file {path}: invalid YAML: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SettingsError(f"config file {path}: expected a mapping at the top level")
    values = dict(raw)
    subgraphs = values.pop("subgraphs", None) or {}
    if not isinstance(subgraphs, dict):
        raise SettingsError(f"config file {path}: subgraphs must be a mapping of name to settings")
    urls: dict[str, str] = {}
    timeouts: dict[str, float] = {}
    for name, entry in subgraphs.items():
        if not isinstance(entry, dict):
            raise SettingsError(f"config file {path}: subgraphs.{name} must be a mapping")
        extra = set(entry) - {"url", "timeout"}
        if extra:
            raise SettingsError(f"config file {path}: subgraphs.{name}: unknown key(s) {sorted(extra)}")
        if entry.get("url") is not None:
            urls[str(name)] = str(entry["url"])
        if entry.get("timeout") is not None:
            timeouts[str(name)] = entry["timeout"]
    if urls:
        values["subgraph_urls"] = urls
    if timeouts:
        values["subgraph_timeouts"] = timeouts
    supergraph = values.get("supergraph")
    if isinstance(supergraph, str) and supergraph and not Path(supergraph).is_absolute():
        values["supergraph"] = path.parent / supergraph
    return values


_ENV_KEYS = {
    "GATEWAY_SUPERGRAPH": "supergraph",
    "GATEWAY_HOST": "host",
    "GATEWAY_PORT": "port",
    "GATEWAY_DEVELOPMENT": "development",
    "GATEWAY_MAX_BODY_BYTES": "max_body_bytes",
    "GATEWAY_POLL_INTERVAL": "poll_interval",
    "GATEWAY_DEFAULT_TIMEOUT": "default_timeout",
    "GATEWAY_MAX_CONNECTIONS": "max_connections",
    "GATEWAY_FORWARD_HEADERS": "forward_headers",
    "GATEWAY_LOG_LEVEL": "log_level",
    "GATEWAY_SHUTDOWN_TIMEOUT": "shutdown_timeout",
}


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for env_name, key in _ENV_KEYS.items():
        if env_name in environ:
            values[key] = environ[env_name]
    urls: dict[str, str] = {}
    timeouts: dict[str, str] = {}
    for env_name, value in environ.items():
        match = _SUBGRAPH_ENV.match(env_name)
        if match is None:
            continue
        # Subgraph names in supergraphs are lower-case by convention (join__graph name).
        name = match["name"].lower()
        (urls if match["what"] == "URL" else timeouts)[name] = value
    if urls:
        values["subgraph_urls"] = urls
    if timeouts:
        values["subgraph_timeouts"] = timeouts
    return values
