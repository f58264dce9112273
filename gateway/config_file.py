"""The gateway's YAML config file as a user wrote it: key checks with helpful errors, and where each
effective setting came from (``gateway config --print``).

An unknown key is named with its line in the file and the closest known key, so that a typo
(``pol_interval``, ``circuit_breaker: colldown``) fails the start with a message that says what to fix
instead of being ignored. The known keys are read from :class:`gateway.settings.Settings` itself.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Settings that the file spells as their own sections (mapping of name to entries).
_NESTED = {"subgraph_urls": "subgraphs", "subgraph_timeouts": "subgraphs", "variants": "variants"}


def known_keys() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """The top-level keys of a config file and each section's keys."""
    from gateway.settings import Settings
    from gateway.settings_values import SECTION_KEYS

    sections: dict[str, set[str]] = {}
    flat_in_sections: set[str] = set()
    for flat, dotted in SECTION_KEYS.items():
        if "." in dotted:
            section, key = dotted.split(".", 1)
            sections.setdefault(section, set()).add(key)
            flat_in_sections.add(flat)
    top = {f.name for f in dataclasses.fields(Settings)} - flat_in_sections - set(_NESTED)
    top |= set(sections) | set(_NESTED.values())
    return frozenset(top), {s: frozenset(k) for s, k in sections.items()}


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The 1-based line of each top-level key and of each key one level below (best effort)."""
    lines: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        lines[(str(key.value),)] = key.start_mark.line + 1
        if isinstance(value, yaml.MappingNode):
            for inner, _ in value.value:
                lines[(str(key.value), str(inner.value))] = inner.start_mark.line + 1
    return lines


def _suggest(key: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _located(where: str, suggestion: str, message: str) -> str:
    # the message (naming the key) ends the line, where existing callers and tests look for it
    return f"{where}{suggestion}: {message}"


def check_file_keys(path: Path, raw: Mapping[str, Any]) -> None:
    """Raise ``SettingsError`` naming the first unknown key of ``raw`` (the file at ``path``)."""
    from gateway.settings_values import SettingsError

    top, sections = known_keys()
    try:
        lines = key_lines(path.read_text(encoding="utf-8"))
    except OSError:
        lines = {}

    def where(*key: str) -> str:
        line = lines.get(key)
        return f"config file {path}, line {line}" if line else f"config file {path}"

    for key in raw:
        if str(key) not in top:
            raise SettingsError(_located(where(str(key)), _suggest(str(key), top), f"unknown key {str(key)!r}"))
    for section, keys in sections.items():
        entries = raw.get(section)
        if not isinstance(entries, dict):
            continue
        for key in entries:
            if str(key) not in keys:
                raise SettingsError(_located(where(section, str(key)), _suggest(str(key), keys),
                                             f"{section}: unknown key {str(key)!r}"))


@dataclass(frozen=True, slots=True)
class Sourced:
    """One effective setting as ``gateway config --print`` shows it."""

    key: str  # as the YAML file spells it (``retry.attempts``, ``subgraphs.catalog.url``)
    value: Any
    source: str  # default | file <path> | environment <VAR> | flag --<name>


def effective_settings(
    config: str | None, environ: Mapping[str, str] | None = None, **overrides: Any
) -> list[Sourced]:
    """Every setting of ``Settings.load(config, environ, **overrides)`` with the layer it came from."""
    from gateway.settings import Settings
    from gateway.settings_sources import ENV_KEYS, from_env, from_yaml
    from gateway.settings_values import setting_key

    env = os.environ if environ is None else environ
    settings = Settings.load(config, environ=env, **overrides)
    file_layer = from_yaml(Path(config)) if config is not None else {}
    env_layer = from_env(env)
    flags = {k: v for k, v in overrides.items() if v is not None}
    env_names = {setting: var for var, setting in ENV_KEYS.items()}

    def source(name: str, entry: str | None = None) -> str:
        def has(layer: Mapping[str, Any]) -> bool:
            value = layer.get(name)
            return name in layer and (entry is None or (isinstance(value, Mapping) and entry in value))

        if has(flags):
            return f"flag --{name}"
        if has(env_layer):
            return f"environment {env_names.get(name, _entry_env(name, entry))}"
        if has(file_layer):
            return f"file {config}"
        return "default"

    out: list[Sourced] = []
    for f in dataclasses.fields(Settings):
        value = getattr(settings, f.name)
        if f.name in ("subgraph_urls", "subgraph_timeouts"):
            what = "url" if f.name == "subgraph_urls" else "timeout"
            out.extend(Sourced(f"subgraphs.{n}.{what}", v, source(f.name, n)) for n, v in value.items())
        elif f.name == "variants":
            for variant in value:
                src = source(f.name, variant.name)
                supergraph = variant.supergraph_beside(settings.supergraph) if settings.supergraph else None
                for key, item in (("path", variant.path), ("supergraph", supergraph),
                                  ("introspection", variant.introspection)):
                    out.append(Sourced(f"variants.{variant.name}.{key}", item, src))
        else:
            src = source(f.name)
            if src == "default" and value != _default(f):
                src = "environment DPP_ENV" if f.name == "graphiql" else "derived"
            out.append(Sourced(setting_key(f.name), value, src))
    return out


def _entry_env(name: str, entry: str | None) -> str:
    if name in ("subgraph_urls", "subgraph_timeouts") and entry:
        return f"GATEWAY_SUBGRAPH_{entry.upper()}_{'URL' if name == 'subgraph_urls' else 'TIMEOUT'}"
    if name == "variants" and entry:
        return f"GATEWAY_VARIANT_{entry.upper()}_* / GATEWAY_VARIANTS"
    if name == "auth_issuers":
        return "GATEWAY_OIDC_ISSUERS"
    return "GATEWAY_" + name.upper()


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None
