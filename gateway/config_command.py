"""``gateway config [--config FILE] [--supergraph FILE] [--print]``: check the configuration, show it.

Exit status 0 when the settings load, 2 with the problem (naming the key, and the file and
line for a file's key) when they do not. ``--print`` writes one line per setting: the key as
the YAML file spells it, the effective value and where it came from (``default``, ``file``,
``environment`` with the variable, ``flag``). Passwords in URLs are replaced by ``***``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.config_file import effective_settings
from gateway.settings import SettingsError

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@")


def redact(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@host`` URL replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def format_value(value: Any) -> str:
    """A setting's value as one line of JSON (passwords in URLs redacted)."""
    return redact(json.dumps(_plain(value), ensure_ascii=False))


def run_config(config: str | None, *, supergraph: str | None = None, print_: bool = False) -> int:
    """Load the settings as ``gateway serve`` would; print them with their sources when asked."""
    config = config or os.environ.get("GATEWAY_CONFIG") or None
    try:
        entries = effective_settings(config, supergraph=supergraph)
    except SettingsError as exc:
        print(f"gateway config: {exc}", file=sys.stderr)
        return 2
    if not print_:
        print(f"gateway config: ok ({config or 'no config file'})", file=sys.stderr)
        return 0
    width = max(len(e.key) for e in entries)
    for e in entries:
        print(f"{e.key:<{width}} = {format_value(e.value)}  # {e.source}")
    return 0
