"""Settings of the contract variants a gateway serves besides ``/graphql``, and of introspection.

YAML (section ``variants``, one entry per variant; every key optional)::

    introspection: on               # the main /graphql: on | off | authenticated | auto
    variants:
      partner:
        path: /partner/graphql      # default /<name>/graphql
        supergraph: partner.graphql # default <name>.graphql beside the main supergraph; relative to this file
        introspection: auto         # auto (default): on in development, else authenticated callers only

Environment: ``GATEWAY_INTROSPECTION``; ``GATEWAY_VARIANTS`` (comma separated names, each with its
defaults) and per variant ``GATEWAY_VARIANT_<NAME>_PATH`` / ``_SUPERGRAPH`` / ``_INTROSPECTION``
(``NAME`` upper-cased; the variant's name is its lower-case form). A variant the environment names
replaces the file's entry of that name as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INTROSPECTION_MODES = ("auto", "on", "off", "authenticated")
"""``auto``: on in development, else as ``authenticated``; ``authenticated``: callers with a verified token."""

MAIN_PATH = "/graphql"
RESERVED_PATHS = frozenset({MAIN_PATH, "/metrics", "/health", "/health/live", "/health/ready"})
VARIANT_KEYS = frozenset({"path", "supergraph", "introspection"})

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
_ENV = re.compile(r"^GATEWAY_VARIANT_(?P<name>[A-Z0-9_]+)_(?P<what>PATH|SUPERGRAPH|INTROSPECTION)$")


class VariantSettingError(ValueError):
    """A variant or introspection setting the gateway cannot use; the message names the key."""


@dataclass(frozen=True, slots=True)
class VariantSettings:
    """One contract variant: its own supergraph served on its own path."""

    name: str
    path: str
    supergraph: Path | None = None  # None: <name>.graphql beside the main supergraph
    introspection: str = "auto"

    def supergraph_beside(self, main: Path | None) -> Path:
        """The variant's supergraph file (the default needs the main supergraph's folder)."""
        if self.supergraph is not None:
            return self.supergraph
        if main is None:
            raise VariantSettingError(f"variants.{self.name}.supergraph: required without a main supergraph")
        return main.with_name(f"{self.name}.graphql")


def coerce_introspection(value: Any, key: str = "introspection") -> str:
    """One of :data:`INTROSPECTION_MODES` (YAML's ``on``/``off`` booleans too)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    mode = str(value).strip().lower()
    if mode in ("true", "yes", "1"):
        return "on"
    if mode in ("false", "no", "0"):
        return "off"
    if mode not in INTROSPECTION_MODES:
        raise VariantSettingError(f"{key}: must be one of {', '.join(INTROSPECTION_MODES)}, not {value!r}")
    return mode


def variants_from_yaml(raw: Any, base: Path) -> dict[str, dict[str, Any]]:
    """The ``variants`` section of a YAML file: checked keys, supergraph paths made absolute."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise VariantSettingError("variants: must be a mapping of variant name to settings")
    out: dict[str, dict[str, Any]] = {}
    for name, entry in raw.items():
        entry = {} if entry is None else entry
        if not isinstance(entry, dict):
            raise VariantSettingError(f"variants.{name}: must be a mapping (path, supergraph, introspection)")
        unknown = sorted(set(entry) - VARIANT_KEYS)
        if unknown:
            raise VariantSettingError(
                f"variants.{name}: unknown key {unknown[0]!r} (known: {', '.join(sorted(VARIANT_KEYS))})"
            )
        values = dict(entry)
        given = values.get("supergraph")
        if isinstance(given, str) and given and not Path(given).is_absolute():
            values["supergraph"] = str(base / given)
        out[str(name)] = values
    return out


def variants_from_env(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Variants named by ``GATEWAY_VARIANTS`` and ``GATEWAY_VARIANT_<NAME>_<KEY>``."""
    out: dict[str, dict[str, Any]] = {}
    for name in (environ.get("GATEWAY_VARIANTS") or "").split(","):
        if name.strip():
            out.setdefault(name.strip().lower(), {})
    for env_name, value in environ.items():
        match = _ENV.match(env_name)
        if match is not None:
            out.setdefault(match["name"].lower(), {})[match["what"].lower()] = value
    return out


def coerce_variants(value: Any) -> tuple[VariantSettings, ...]:
    """Variants from a mapping of name to settings (or as already built); paths checked and unique."""
    if isinstance(value, tuple) and all(isinstance(v, VariantSettings) for v in value):
        return value
    if not isinstance(value, Mapping):
        raise VariantSettingError("variants: must be a mapping of variant name to settings")
    built: list[VariantSettings] = []
    for name, entry in value.items():
        key = f"variants.{name}"
        if not _NAME.match(str(name)):
            raise VariantSettingError(f"{key}: a variant name is lower-case letters, digits, '_' and '-'")
        entry = dict(entry or {})
        path = str(entry.get("path") or f"/{name}/graphql").rstrip("/")
        if not _PATH.match(path):
            raise VariantSettingError(f"{key}.path: {path!r} is not a URL path such as /{name}/graphql")
        if path in RESERVED_PATHS:
            raise VariantSettingError(f"{key}.path: {path} is the gateway's own")
        supergraph = entry.get("supergraph")
        introspection = coerce_introspection(entry.get("introspection", "auto"), f"{key}.introspection")
        built.append(VariantSettings(str(name), path, Path(supergraph) if supergraph else None, introspection))
    paths = [v.path for v in built]
    for path in sorted({p for p in paths if paths.count(p) > 1}):
        raise VariantSettingError(f"variants: two variants are served on {path}")
    return tuple(built)
